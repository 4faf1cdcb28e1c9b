"""Benchmarks: speed and memory figures written to bench/results/ (run with ``python -m bench``)."""
