"""Benchmarks. Not tests: run them by hand, see docs/PERFORMANCE.md."""
