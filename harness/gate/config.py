"""The configuration parity ships for running its suites outside its repository: the pytest
settings and the tolerance policy (copies of its pyproject.toml's, tests/test_gate.py keeps
them equal), and the policy a command applies in a project that declares none."""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

from harness.core.tolerance import TolerancePolicy

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PYTEST_INI = Path(str(resources.files("harness.gate") / "pytest.ini"))
TOLERANCE = Path(str(resources.files("harness.gate") / "tolerance.toml"))


def declares_policy(pyproject: Path) -> bool:
    """Whether ``pyproject`` has a ``[tool.parity.tolerance]`` table (an unreadable file
    counts as declaring one: reading it then says what is wrong)."""
    if not pyproject.is_file():
        return False
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return True
    return "tolerance" in data.get("tool", {}).get("parity", {})


def policy_path(pyproject: Path = Path("pyproject.toml")) -> Path:
    """The project's pyproject.toml where it declares a policy, else parity's own policy file:
    a failure of ``parity gate`` in a converter's repository reproduces there as it failed."""
    return pyproject if declares_policy(pyproject) else TOLERANCE


def project_policy(pyproject: Path = Path("pyproject.toml")) -> TolerancePolicy:
    return TolerancePolicy.from_pyproject(policy_path(pyproject))
