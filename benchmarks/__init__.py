"""Benchmarks of skdec: ``python -m benchmarks [COMMAND]``; see README.md."""
