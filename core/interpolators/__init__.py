"""Interpolator backends behind one interface (see :mod:`stsr.interpolators.base`)."""

from .base import BackendUnavailable, Interpolator, PreparedPair
from .registry import available_backends, backend_options, create_backend, default_backend_name, register

__all__ = [
    "BackendUnavailable",
    "Interpolator",
    "PreparedPair",
    "available_backends",
    "backend_options",
    "create_backend",
    "default_backend_name",
    "register",
]
