"""An environment without the optimizers and LiteRT extras gives 0 failed and one line per
missing stage, naming the extra to install (#45; harness.core.installed).

The environment is real: this venv's site-packages seen through a folder of links to every
entry but those extras' distributions (their modules and their ``.dist-info``), put in the
place of site-packages on ``sys.path`` before anything is imported, so that neither pip's
records nor the import system find them."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
import sysconfig
from pathlib import Path, PurePath

import pytest

from harness.converters import available, get
from harness.core import installed

ROOT = Path(__file__).resolve().parents[1]
EXTRAS = ("optimizers", "litert")
# A drawn case, and the side paths' pins of the extras' stages.
SELECTION = ["suites/onnx/test_ops.py::test_op[Relu]", "suites/side_paths", "-k",
             "test_op or onnxsim or onnxslim or optimizer or tflite"]
LEFT_OUT = re.compile(r"^parity: left out: stage (\S+): (.*)$", re.MULTILINE)


def _distributions() -> list[str]:
    return sorted(name for name, extra in installed._extras().items() if extra in EXTRAS)


def _hidden(distribution: str) -> set[str]:
    """The site-packages entries a distribution installed: its dist-info and top-level
    modules."""
    dist = importlib.metadata.distribution(distribution)
    tops = {PurePath(str(f)).parts[0] for f in dist.files or ()}
    return {top for top in tops if top != ".." and not top.endswith(".pth")} | {
        Path(dist._path).name}


@pytest.fixture(scope="module")
def without_extras(tmp_path_factory) -> Path:
    distributions = _distributions()
    if not distributions or not all(map(installed.is_installed, distributions)):
        pytest.skip(f"needs the {' and '.join(EXTRAS)} extras installed, to take them away")
    site = Path(sysconfig.get_paths()["purelib"])
    hidden = set().union(*map(_hidden, distributions))
    folder = tmp_path_factory.mktemp("site-without-extras")
    for entry in site.iterdir():
        if entry.name not in hidden and entry.name != "__pycache__":
            (folder / entry.name).symlink_to(entry)
    return folder


def test_without_the_extras_nothing_fails_and_each_missing_stage_is_one_line(without_extras,
                                                                               tmp_path):
    distributions = set(_distributions())
    expected = sorted(name for name in available()
                      if distributions & {installed.canonical(p) for p in get(name).packages})
    assert {"onnxsim", "onnxslim", "onnxoptimizer", "tflite"} <= set(expected)
    site = sysconfig.get_paths()["purelib"]
    start = (f"import site, sys; sys.path[:] = [p for p in sys.path if p != {site!r}]; "
             f"site.addsitedir({str(without_extras)!r}); sys.path.insert(0, {str(ROOT)!r}); "
             "import pytest; sys.exit(pytest.main(sys.argv[1:]))")
    run = subprocess.run(
        [sys.executable, "-c", start, *SELECTION, "-p", "no:cacheprovider", "-p",
         "no:xdist", "-q", "-rs", "--hypothesis-profile", "ci", "--parity-report", "none",
         "--parity-cache", str(tmp_path / "cache")],
        cwd=ROOT, capture_output=True, text=True, timeout=900)
    out = run.stdout
    assert run.returncode == 0, out[-4000:] + run.stderr[-2000:]
    summary = out.strip().splitlines()[-1]
    assert "passed" in summary and "failed" not in summary and "error" not in summary, summary
    lines = LEFT_OUT.findall(out)
    assert sorted(stage for stage, _ in lines) == expected, out[-3000:]
    for stage, why in lines:
        extras = {installed._extras()[installed.canonical(p)] for p in get(stage).packages
                  if installed.canonical(p) in distributions}
        named = re.search(r"pip install 'parity\[([a-z,]+)\]'", why)
        assert named and set(named.group(1).split(",")) == extras, (stage, why)
    # The side paths' pins of the missing stages are skipped naming them, not run.
    assert re.search(r"SKIPPED .*onnxsim is not installed \(pip install 'parity\[optimizers\]'\)",
                     out), out[-3000:]
