"""The search: opening a study, its plan, the study loop, batches of trials, the space, samplers, pruners,
heartbeats, worker processes and the run's display."""
