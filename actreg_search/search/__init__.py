"""The search: the study loop, the batch runner, the space, samplers, pruners, heartbeats and worker processes."""
