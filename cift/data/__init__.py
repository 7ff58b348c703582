"""Market data that is not storage: schemas, validation, import, the synthetic market, bars.

Its modules load on first use (``cift.data.synthetic.synthetic_market`` after ``import cift``).
"""

from importlib import import_module

_MODULES = ("bars", "checks", "codes", "importer", "intrinsics", "rand", "schema", "synthetic",
            "timestamps", "validate")


def __getattr__(name: str) -> object:
    if name in _MODULES:
        return import_module(f"cift.data.{name}")  # (the import binds it here too)
    raise AttributeError(f"module 'cift.data' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_MODULES))
