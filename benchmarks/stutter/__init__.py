"""The stutter benchmark: anime-like clips with ground truth, every method side by side.

Run ``.venv/bin/python -m benchmarks.stutter`` (``--help`` for subsets). See
:mod:`benchmarks.stutter.run`.
"""
