"""Benchmarks of skdec: clustering quality, time and memory, and speed.

``python -m benchmarks`` runs the suite (:mod:`benchmarks.run`) and
``python -m benchmarks speed`` the speed measurements (:mod:`benchmarks.speed`);
``benchmarks/README.md`` explains both.
"""
