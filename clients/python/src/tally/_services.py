"""Discovery of the generated service stubs, so that a client has one attribute per service."""

import importlib
import pkgutil
import re
from typing import Any, Dict, Type

import tally.v1


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def stub_classes(asynchronous: bool) -> Dict[str, Type[Any]]:
    """Attribute name (snake_case service name) -> stub class, for every service in tally.v1."""
    suffix = "AsyncStub" if asynchronous else "Stub"
    out: Dict[str, Type[Any]] = {}
    for info in sorted(pkgutil.iter_modules(tally.v1.__path__), key=lambda i: i.name):
        if not info.name.endswith("_tally"):
            continue
        module = importlib.import_module(f"tally.v1.{info.name}")
        for name, obj in vars(module).items():
            if not isinstance(obj, type) or not name.endswith(suffix):
                continue
            if not asynchronous and name.endswith("AsyncStub"):
                continue
            out[_snake(name[: -len(suffix)])] = obj
    return out
