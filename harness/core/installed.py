"""Whether the distributions a stage or a runner declares are installed here, and which of
parity's extras installs one.

A run leaves out a stage whose package is not installed (the optimizers or LiteRT extra
skipped), with one line naming the extra, instead of an error in every case that reaches it.
"Not installed" means pip has no record of the distribution and Python finds no module of its
name: a package that is installed but fails to import is the stage's own error, and stays one.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import re


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@functools.cache
def is_installed(distribution: str) -> bool:
    try:
        importlib.metadata.distribution(distribution)
        return True
    except importlib.metadata.PackageNotFoundError:
        pass
    module = canonical(distribution).replace("-", "_")  # tensorflow-cpu still gives tensorflow
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def not_installed(distributions) -> list[str]:
    return [name for name in distributions if not is_installed(name)]


@functools.cache
def _extras() -> dict[str, str]:
    """{canonical distribution: the first of parity's extras (not ``all``) that installs it}."""
    try:
        requirements = importlib.metadata.requires("parity") or []
    except importlib.metadata.PackageNotFoundError:
        return {}
    found: dict[str, str] = {}
    for line in requirements:
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*).*extra\s*==\s*['\"]([^'\"]+)['\"]",
                         line)
        if match and match.group(2) != "all":
            found.setdefault(canonical(match.group(1)), match.group(2))
    return found


def install_hint(distributions) -> str:
    """``pip install 'parity[litert]'``, or the distributions themselves where no extra of
    parity's installs them (a plugin's own dependency)."""
    extras = sorted({_extras()[canonical(d)] for d in distributions if canonical(d) in _extras()})
    others = [d for d in distributions if canonical(d) not in _extras()]
    words = ([f"'parity[{','.join(extras)}]'"] if extras else []) + others
    return "pip install " + " ".join(words)


def missing_text(what: str, distributions) -> str | None:
    """``"<what>: onnxsim is not installed (pip install 'parity[optimizers]')"``, or None
    when every one of ``distributions`` is installed."""
    missing = not_installed(distributions)
    if not missing:
        return None
    verb = "is" if len(missing) == 1 else "are"
    return f"{what}: {', '.join(missing)} {verb} not installed ({install_hint(missing)})"
