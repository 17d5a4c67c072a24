"""Datasets: the built-in ones, a user's arrays (CSV, npz, a Python loader), and each seed's validation splits."""
