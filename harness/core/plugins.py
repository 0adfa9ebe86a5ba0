"""One way to find a plugin by name, for converters and sources alike; and the user's modules
(``--plugins``) and custom objects (``--custom-objects``) that every process loading a model
must have.

A plugin is found among the objects registered in this process (tests, notebooks; they win),
then parity's built-ins (``module:attribute`` references, imported on first use), then the
installed packages' entry points of the plugin's group. A class is instantiated once.

The plugin modules imported and the custom-object specs used in this process are recorded,
so that the processes it starts (the keras-torch worker, the isolation workers) repeat them
before they load a model: ``setup()`` is what travels, ``apply_setup`` repeats it there.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import sys
import types
from collections.abc import Callable, Iterable, Mapping
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


# What this process imported and used for the user, in order: repeated by its workers.
_IMPORTED: dict[str, str | None] = {}  # plugin module -> the sys.path folder it came from
_CUSTOM_OBJECTS: dict[str, dict[str, Any]] = {}  # "MODULE:NAME" -> its dict
_ROOTS: dict[str, str | None] = {}  # a custom-object module -> the folder it came from


def import_modules(modules: Iterable[str]) -> None:
    """Imports the modules that register converters, sources, custom layers or layer
    handlers (``--plugins``, ``--parity-plugins``). The working directory is on the path, as
    under pytest or ``python -m``. A module that raises, at all, is a PluginImportError."""
    _working_directory_on_path()
    for module in modules:
        try:
            imported = importlib.import_module(module)
        except Exception as exc:  # noqa: BLE001  (a plugin's own error, in one line)
            raise PluginImportError(module, exc) from None
        _IMPORTED.setdefault(module, _search_root(imported))


def imported_modules() -> list[str]:
    """The plugin modules ``import_modules`` imported in this process, in order."""
    return list(_IMPORTED)


def _working_directory_on_path() -> None:
    cwd = os.getcwd()
    if not any(os.path.abspath(entry or ".") == cwd for entry in sys.path):
        sys.path.append(cwd)


def _search_root(module: types.ModuleType) -> str | None:
    """The sys.path folder a module was found in (None for a namespace or built-in one)."""
    file = getattr(module, "__file__", None)
    if not file:
        return None
    path = os.path.abspath(file)
    depth = module.__name__.count(".") + (os.path.basename(path).startswith("__init__."))
    for _ in range(depth + 1):
        path = os.path.dirname(path)
    return path


# -- custom objects: the Keras way (``load_model(custom_objects=...)``) --------------------------

class CustomObjectsError(ValueError):
    """A ``--custom-objects`` spec that does not name a dict of classes: one line."""


def parse_custom_objects(specs: str | Iterable[str] | None) -> list[str]:
    """``MODULE:NAME`` specs from comma-separated text or a list of them (repeatable option)."""
    texts = [specs] if isinstance(specs, str) else list(specs or ())
    parsed = [part.strip() for text in texts for part in text.split(",") if part.strip()]
    for spec in parsed:
        module, colon, name = spec.partition(":")
        if not colon or not module.strip() or not name.strip() or ":" in name:
            raise CustomObjectsError(f"{spec!r} is not MODULE:NAME (a module and the name of "
                                     f"its dict of custom objects, e.g. mylayers:CUSTOM_OBJECTS)")
    return parsed


def load_custom_objects(spec: str) -> dict[str, Any]:
    """The dict of name -> class (or function) that ``MODULE:NAME`` names, as
    ``keras.models.load_model(custom_objects=...)`` takes it."""
    module_name, _, name = (part.strip() for part in spec.partition(":"))
    _working_directory_on_path()
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001  (the user's module's own error, in one line)
        raise CustomObjectsError(f"{spec}: cannot import module {module_name!r} "
                                 f"({type(exc).__name__}: {exc})") from None
    if not hasattr(module, name):
        raise CustomObjectsError(f"{spec}: module {module_name!r} has no attribute {name!r}")
    objects = getattr(module, name)
    if not isinstance(objects, Mapping):
        raise CustomObjectsError(f"{spec}: {name} is a {type(objects).__name__}, not a dict of "
                                 f"name -> class as keras.models.load_model(custom_objects=...) "
                                 f"takes")
    for key, value in objects.items():
        if not isinstance(key, str):
            raise CustomObjectsError(f"{spec}: {name} has the key {key!r}; its keys are the "
                                     f"names a model file gives its classes (str)")
        if not isinstance(value, (type, types.FunctionType)):
            raise CustomObjectsError(f"{spec}: {name}[{key!r}] is a {type(value).__name__}, not "
                                     f"a class (or a function)")
    _ROOTS.setdefault(module_name, _search_root(module))
    return dict(objects)


def use_custom_objects(specs: str | Iterable[str] | None) -> dict[str, Any]:
    """Loads each spec's dict and records it, for ``custom_objects()`` and the workers;
    returns the entries the specs name."""
    found: dict[str, Any] = {}
    for spec in parse_custom_objects(specs):
        objects = load_custom_objects(spec)
        _CUSTOM_OBJECTS[spec] = objects
        found.update(objects)
    return found


def custom_objects() -> dict[str, Any]:
    """Every custom object ``use_custom_objects`` recorded, name -> class (later specs win)."""
    merged: dict[str, Any] = {}
    for objects in _CUSTOM_OBJECTS.values():
        merged.update(objects)
    return merged


def custom_object_specs() -> list[str]:
    return list(_CUSTOM_OBJECTS)


# -- what a worker process repeats ----------------------------------------------------------------

def setup() -> dict[str, list[str]]:
    """What this process imported and used for the user, as JSON for a worker: the plugin
    modules, the custom-object specs and the folders they were found in."""
    roots = [root for root in dict.fromkeys([*_IMPORTED.values(), *_ROOTS.values()]) if root]
    return {"plugins": imported_modules(), "custom_objects": custom_object_specs(),
            "sys_path": roots}


def apply_setup(config: Mapping[str, Any] | None, strict: bool = True) -> list[str]:
    """Repeats another process' ``setup()`` here: its folders on sys.path, its plugin modules
    imported, its custom objects loaded; what is already done is not done again. ``strict``
    raises on the first module that fails (PluginImportError, CustomObjectsError); else each
    failure is returned as a line and the rest still applied."""
    if not config:
        return []
    for root in reversed(config.get("sys_path") or []):
        if root not in sys.path:
            sys.path.insert(0, root)
    problems = []
    for module in config.get("plugins") or []:
        if module not in _IMPORTED:
            try:
                import_modules([module])
            except PluginImportError as exc:
                if strict:
                    raise
                problems.append(str(exc))
    for spec in config.get("custom_objects") or []:
        if spec not in _CUSTOM_OBJECTS:
            try:
                use_custom_objects(spec)
            except CustomObjectsError as exc:
                if strict:
                    raise
                problems.append(f"--custom-objects {exc}")
    return problems
