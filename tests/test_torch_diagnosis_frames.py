"""Where a torch diagnosis says a trace was blocked names the converter's file by the package
it is imported as, wherever it is installed: a known issue's message (``blocked at:
onnx2torch/node_converters/reshape.py``) then matches a converter team's editable install of
its source tree as it matches the wheel in site-packages."""

from __future__ import annotations

import importlib
import sys

import pytest

from harness.runtimes.torch_diagnosis import Frame, module_of


@pytest.fixture
def source_tree(tmp_path, monkeypatch):
    """A package in a source tree outside site-packages, imported from there (as
    `pip install -e .` of a converter's checkout imports it)."""
    package = tmp_path / "checkout-1.5.15" / "fakeconv" / "node_converters"
    package.mkdir(parents=True)
    (package.parent / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "reshape.py").write_text("def forward(shape):\n    return shape\n")
    monkeypatch.syspath_prepend(str(tmp_path / "checkout-1.5.15"))
    module = importlib.import_module("fakeconv.node_converters.reshape")
    yield module
    for name in [n for n in sys.modules if n.startswith("fakeconv")]:
        del sys.modules[name]


def test_an_editable_converter_s_frame_is_named_by_its_package(source_tree):
    frame = Frame(source_tree.__file__, 2, "forward", "return shape")
    assert module_of(source_tree.__file__) == "fakeconv.node_converters.reshape"
    assert frame.short() == "fakeconv/node_converters/reshape.py:2 in forward"
    assert frame.owner == "fakeconv"
    init = Frame(sys.modules["fakeconv"].__file__, 1, "<module>", "")
    assert init.short() == "fakeconv/__init__.py:1 in <module>"


def test_site_packages_and_parity_s_own_frames_keep_their_names():
    torch = pytest.importorskip("torch")
    frame = Frame(torch.nn.modules.module.__file__, 1, "_call_impl", "")
    assert frame.owner == "torch"
    assert frame.short().startswith("torch/nn/modules/module.py:1")
    import harness.mat.modules as mat_modules

    assert Frame(mat_modules.__file__, 3, "forward", "").owner == "parity"
    assert Frame(mat_modules.__file__, 3, "forward", "").short() == (
        "harness/mat/modules.py:3 in forward")
    assert module_of("/nowhere/not_loaded.py") is None


def test_a_file_no_module_had_is_named_once_its_module_is_imported(tmp_path, monkeypatch):
    (tmp_path / "late_converter_module.py").write_text("X = 1\n")
    file = str(tmp_path / "late_converter_module.py")
    assert module_of(file) is None
    assert module_of(file) is None  # asked again with nothing new loaded
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.import_module("late_converter_module")
    try:
        assert module_of(file) == "late_converter_module"
    finally:
        del sys.modules["late_converter_module"]
