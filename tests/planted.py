"""A one-line fault planted in memory in a real converter's method (``harness.tools.mutants``'
kind of fault), for a test that shows the gate catches it."""

import inspect
import textwrap


def plant(monkeypatch, owner, name: str, original: str, fault: str) -> None:
    """``owner.name`` (a method) recompiled from its source with ``original`` replaced by
    ``fault``, in its module's namespace, for the rest of the test."""
    method = getattr(owner, name)
    module = inspect.getmodule(method)
    source = textwrap.dedent(inspect.getsource(method))
    planted = source.replace(original, fault)
    assert planted != source, f"{owner.__name__}.{name} no longer holds {original!r}"
    namespace = dict(vars(module))
    exec(compile(planted, module.__file__, "exec"), namespace)  # noqa: S102 (our fault)
    monkeypatch.setattr(owner, name, namespace[name])
