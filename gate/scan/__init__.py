"""Scanner backends by name: ``get_scanner("trivy", options)``.

Backends are imported lazily (a backend's module is only loaded when asked for). To add
one, add ``"<name>": "<module>:<factory>"`` to ``_BACKENDS`` (or call ``register_scanner``);
the factory takes the backend's options mapping and returns a ``Scanner``, raising
``InputError`` on options it does not know.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from gate.errors import InputError
from gate.scan.base import Scanner

ScannerFactory = Callable[[Mapping[str, Any]], Scanner]

_BACKENDS: dict[str, str | ScannerFactory] = {
    "trivy": "gate.scan.trivy:from_options",
    "osv": "gate.scan.osv:from_options",
}


def register_scanner(name: str, factory: str | ScannerFactory) -> None:
    """Register a backend under ``name`` (``"module:function"`` or a callable)."""
    _BACKENDS[name] = factory


def scanner_names() -> tuple[str, ...]:
    """The backend names ``get_scanner`` accepts, sorted."""
    return tuple(sorted(_BACKENDS))


def get_scanner(name: str, options: Mapping[str, Any] | None = None) -> Scanner:
    """The scanner called ``name``, configured with ``options`` (backend-specific keys)."""
    entry = _BACKENDS.get(name)
    if entry is None:
        raise InputError(f"unknown scanner {name!r}: expected one of {', '.join(scanner_names())}")
    if isinstance(entry, str):
        module_name, _, attribute = entry.partition(":")
        factory: ScannerFactory = getattr(importlib.import_module(module_name), attribute)
    else:
        factory = entry
    return factory(options or {})
