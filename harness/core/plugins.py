"""One way to find a plugin by name, for converters and sources alike.

A plugin is found among the objects registered in this process (tests, notebooks; they win),
then parity's built-ins (``module:attribute`` references, imported on first use), then the
installed packages' entry points of the plugin's group. A class is instantiated once.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import sys
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def _instance(loaded: Any) -> Any:
    return loaded() if isinstance(loaded, type) else loaded


class PluginRegistry(Generic[T]):
    def __init__(self, what: str, group: str, builtin: dict[str, str],
                 is_plugin: Callable[[Any], bool], unknown: Callable[[str], Exception]):
        self.what = what  # "converter", "source": for messages
        self.group = group
        self.builtin = builtin
        self._is_plugin = is_plugin
        self._unknown = unknown
        self._cache: dict[str, T] = {}
        self._extra: dict[str, T] = {}

    def register(self, plugin: T) -> T:
        if not self._is_plugin(plugin):
            raise TypeError(f"{plugin!r} lacks the {self.what} attributes")
        self._extra[plugin.name] = plugin
        return plugin

    def unregister(self, name: str) -> None:
        self._extra.pop(name, None)

    def entry_points(self) -> dict[str, Any]:
        return {ep.name: ep for ep in importlib.metadata.entry_points(group=self.group)}

    def available(self) -> list[str]:
        return sorted({*self.builtin, *self.entry_points(), *self._extra})

    def known(self, name: str) -> bool:
        return name in self._extra or name in self.builtin or name in self.entry_points()

    def get(self, name: str) -> T:
        if name in self._extra:
            return self._extra[name]
        if name not in self._cache:
            if name in self.builtin:
                module_name, _, attr = self.builtin[name].partition(":")
                self._cache[name] = _instance(getattr(importlib.import_module(module_name), attr))
            else:
                entry = self.entry_points().get(name)
                if entry is None:
                    raise self._unknown(f"unknown {self.what} {name!r}; available: "
                                        f"{', '.join(self.available())}")
                self._cache[name] = _instance(entry.load())
        return self._cache[name]


class PluginImportError(ImportError):
    """A plugin module named by the user cannot be imported: names the module and why."""

    def __init__(self, module: str, cause: BaseException):
        super().__init__(f"cannot import plugin module {module!r} "
                         f"({type(cause).__name__}: {cause})")
        self.module = module


def import_modules(modules: list[str]) -> None:
    """Imports the modules that register converters, sources, custom layers or layer
    handlers (``--plugins``, ``--parity-plugins``). The working directory is on the path, as
    under pytest or ``python -m``. A module that raises, at all, is a PluginImportError."""
    cwd = os.getcwd()
    if not any(os.path.abspath(entry or ".") == cwd for entry in sys.path):
        sys.path.append(cwd)
    for module in modules:
        try:
            importlib.import_module(module)
        except Exception as exc:  # noqa: BLE001  (a plugin's own error, in one line)
            raise PluginImportError(module, exc) from None
