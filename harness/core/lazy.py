"""A package that imports nothing until a name is used (PEP 562): its ``__init__`` maps each
public name to the module that defines it, and looks the name up there on first use, so that
``parity``'s parser can import the package without loading torch or TensorFlow."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any


def lazy_names(package: str, public: dict[str, str]) -> Callable[[str], Any]:
    """The module ``__getattr__`` of ``package``: each name of ``public`` ({name: module})
    imported from its module when first asked for, and kept in the package."""

    def __getattr__(name: str) -> Any:
        if name not in public:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(public[name]), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
