"""Benchmarks: each module ``bench/<name>.py`` runs as ``python -m bench.<name>``.

A benchmark starts what it measures in separate processes over loopback only,
bounds every loop in count and time, and prints its figures beside a baseline
measured in the same run. ``python -m bench`` runs them all, one after another.
Modules whose name starts with ``_`` are helpers, not benchmarks.
"""
