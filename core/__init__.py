"""stsr core: spatiotemporal resampling of anime held on twos/threes.

This package is the algorithm only: schedules, interpolator backends, video I/O
and scene cuts. It knows nothing about players, folders or command lines.
"""

__version__ = "0.1.0"
