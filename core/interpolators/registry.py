"""Name -> backend factory registry, so the CLI and plugins never import backends directly."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from collections.abc import Callable
from typing import Any

from .base import BackendUnavailable, Interpolator

BackendFactory = Callable[..., Interpolator]

_BUILTIN_BACKENDS = ("flow", "rife", "gmfss_union")
_FACTORIES: dict[str, BackendFactory] = {}
_DESCRIPTIONS: dict[str, str] = {}


def register(name: str, description: str) -> Callable[[BackendFactory], BackendFactory]:
    """Decorator that registers a backend factory (a class or a function) under ``name``."""

    def decorator(factory: BackendFactory) -> BackendFactory:
        _FACTORIES[name] = factory
        _DESCRIPTIONS[name] = description
        return factory

    return decorator


def _load_builtin_backends() -> None:
    # Imported for their registration side effect.
    for module in _BUILTIN_BACKENDS:
        if importlib.util.find_spec(f"{__package__}.{module}") is not None:
            importlib.import_module(f"{__package__}.{module}")


def available_backends() -> dict[str, str]:
    """Registered backend names with a one-line description each."""
    _load_builtin_backends()
    return dict(_DESCRIPTIONS)


def _factory(name: str) -> BackendFactory:
    _load_builtin_backends()
    try:
        return _FACTORIES[name]
    except KeyError:
        known = ", ".join(sorted(_FACTORIES))
        raise BackendUnavailable(f"unknown backend {name!r} (choose from: auto, {known})") from None


def backend_options(name: str) -> set[str]:
    """The keyword options backend ``name`` takes (besides ``device``), read from its signature."""
    if name == "auto":
        name = default_backend_name()
    parameters = inspect.signature(_factory(name)).parameters.values()
    return {p.name for p in parameters if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)} - {"self", "device"}


def create_backend(name: str, **options: Any) -> Interpolator:
    """Construct backend ``name`` (``auto``: the best one installed) with ``options``.

    Raises:
        BackendUnavailable: unknown name, missing weights, or an option the backend does not
            take (refused rather than ignored, so ``--model`` on ``flow`` is never silently dropped).
    """
    if name == "auto":
        name = default_backend_name()
    factory = _factory(name)
    unknown = sorted(set(options) - backend_options(name) - {"device"})
    if unknown:
        takes = ", ".join(sorted(backend_options(name))) or "none"
        raise BackendUnavailable(f"backend {name!r} does not take {', '.join(unknown)} (its options: {takes})")
    return factory(**options)


def default_backend_name() -> str:
    """``gmfss_union`` once its weights are present, otherwise the weight-free ``flow``."""
    _load_builtin_backends()
    if "gmfss_union" in _FACTORIES:
        try:
            from ..weights import weights_present
        except ImportError:  # pragma: no cover
            return "flow"
        if weights_present():
            return "gmfss_union"
    return "flow"
