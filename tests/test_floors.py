"""The floors pyproject.toml declares are the versions the floor lanes install: every ``>=``
of the core dependencies and of the extras a floor lane installs is pinned, at that version,
in its constraints file (constraints/floor.txt, TensorFlow's in constraints/floor-tf.txt), so
that a floor raised or lowered in one place and not the other fails here
(docs/tox.md#floor-and-gpu-image)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
# The lanes' constraints files and what each installs (tox.ini's floor and floor-tf).
LANES = {"floor.txt": ("", "onnx", "torch", "mat", "test"), "floor-tf.txt": ("tf",)}


def pins(name: str) -> dict[str, Version]:
    found = {}
    for line in (ROOT / "constraints" / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            requirement = Requirement(line)
            [spec] = requirement.specifier
            found[canonicalize_name(requirement.name)] = Version(spec.version)
    return found


def declared(extra: str) -> list[Requirement]:
    texts = PROJECT["dependencies"] if not extra else PROJECT["optional-dependencies"][extra]
    return [Requirement(text) for text in texts]


@pytest.mark.parametrize(("lane", "extra"),
                         [(lane, extra) for lane, extras in LANES.items() for extra in extras])
def test_every_declared_floor_is_the_lane_s_pin(lane, extra):
    pinned = pins(lane)
    for requirement in declared(extra):
        [floor] = [Version(s.version) for s in requirement.specifier if s.operator == ">="]
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{requirement} ({extra or 'core'}): {lane} does not pin it"
        assert pinned[name] == floor, (f"{requirement} ({extra or 'core'}): {lane} installs "
                                       f"{pinned[name]}, not the declared floor")


def test_the_tf_floor_keeps_the_floor_s_other_pins():
    """floor-tf.txt is floor.txt plus TensorFlow's side: it moves only what TensorFlow needs."""
    floor, with_tf = pins("floor.txt"), pins("floor-tf.txt")
    moved = {name for name in floor if with_tf.get(name) != floor[name]}
    assert moved == {"h5py"}
