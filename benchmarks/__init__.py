"""Benchmarks: scripts that print speed and quality tables (not part of the test suite)."""
