"""Custom Keras classes end to end in ``parity check``: a file that names classes no one
registered is refused in one line that names each class, the layers that use it and how to
register it (both ``registered_name`` forms: the decorator's "package>Name", the bare "Name"
of a class saved through ``custom_objects=``); following that line, with ``--custom-objects``
or ``--plugins``, every leg agrees, ``keras>keras-torch`` too, whose worker process imports
the same modules; a bad ``--custom-objects`` spec is one line, exit 2.

Each test writes its own module of classes into tmp_path under a name of its own (classes
too: the keras-torch worker outlives a test) and saves its model files with it."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest

from harness.core.frameworks import prepare_imports

prepare_imports()
pytest.importorskip("tensorflow")
tf_keras = pytest.importorskip("tf_keras")
pytest.importorskip("onnx2torch")

import keras  # noqa: E402

from harness.check import CheckError, CheckOptions, run_check  # noqa: E402
from harness.core import plugins  # noqa: E402
from harness.run.isolation import IsolatedHarness  # noqa: E402
from harness.runtimes.keras_custom import register_custom_objects  # noqa: E402
from harness.sources import file as files  # noqa: E402
from harness.sources.file.safety import MissingCustomObjects, scan_keras3_config  # noqa: E402

KERAS3_LAYERS = '''
import keras


class Scale{tag}(keras.layers.Layer):
    """y = x * scale per channel: saved by the class name alone (custom_objects=)."""

    def build(self, shape):
        self.scale = self.add_weight(name="scale", shape=(shape[-1],), initializer="ones")

    def call(self, x):
        return x * self.scale


@keras.saving.register_keras_serializable(package="ctest{tag}")
class Shift{tag}(keras.layers.Layer):
    """y = x + 0.5: saved as "ctest{tag}>Shift{tag}" by the decorator."""

    def call(self, x):
        return x + 0.5


def double{tag}(x):
    """An activation function of the user's: saved by its name alone."""
    return x * 2.0


CUSTOM_OBJECTS = {{"Scale{tag}": Scale{tag}, "ctest{tag}>Shift{tag}": Shift{tag}}}
NOT_A_DICT = [Scale{tag}]
NOT_CLASSES = {{"Scale{tag}": 3}}
'''

TF_KERAS_LAYERS = '''
import tf_keras


class TfScale{tag}(tf_keras.layers.Layer):
    def build(self, shape):
        self.scale = self.add_weight(name="scale", shape=(shape[-1],), initializer="ones")

    def call(self, x):
        return x * self.scale


@tf_keras.saving.register_keras_serializable(package="tfctest{tag}")
class TfShift{tag}(tf_keras.layers.Layer):
    def call(self, x):
        return x + 0.5


CUSTOM_OBJECTS = {{"TfScale{tag}": TfScale{tag}, "tfctest{tag}>TfShift{tag}": TfShift{tag}}}
'''

FAST_PATHS = "keras>tf2onnx,keras>keras-torch"


@pytest.fixture(autouse=True)
def forget_registrations(monkeypatch):
    """What a test registers (parity's records of plugins and custom objects, Keras' and
    tf_keras' global custom objects) is gone after it, so no later test sees its classes."""
    for name in ("_IMPORTED", "_CUSTOM_OBJECTS", "_ROOTS"):
        monkeypatch.setattr(plugins, name, dict(getattr(plugins, name)))
    # parity's own objects are registered once a process (cached): registered first during a
    # test here, the restore below would drop them for every later test of this worker
    register_custom_objects()
    registries = [keras.saving.get_custom_objects(), tf_keras.saving.get_custom_objects()]
    kept = [dict(registry) for registry in registries]
    modules = set(sys.modules)
    yield
    for registry, before in zip(registries, kept):
        registry.clear()
        registry.update(before)
    for name in set(sys.modules) - modules:
        if name.startswith(("colayers_", "coplugin_")):
            del sys.modules[name]


def write_module(folder, name: str, source: str, monkeypatch):
    (folder / f"{name}.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(folder))
    return importlib.import_module(name)


def unregister(module, tag: str) -> None:
    """The decorator registered Shift{tag} when the module was imported to save the model;
    a user's fresh process has no such registration."""
    registry = keras.saving.get_custom_objects()
    registry.pop(f"ctest{tag}>Shift{tag}", None)


def keras3_model(module, tag: str, path, activation=None):
    """Dense, Scale{tag} (bare name), a Sequential holding a Shift{tag} (nested): seeded."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((5,), name="features")
    x = keras.layers.Dense(4, name="dense", activation=activation)(inputs)
    x = getattr(module, f"Scale{tag}")(name="scale")(x)
    inner = keras.Sequential([getattr(module, f"Shift{tag}")(name="shift")], name="inner")
    model = keras.Model(inputs, inner(x))
    model.get_layer("scale").scale.assign(np.array([0.5, 2.0, -1.0, 3.0], "float32"))
    model.save(path)
    return model


def null_module(path, target) -> None:
    """The .keras file as the measured one was: the bare-named class's ``module`` null."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(members["config.json"])
    for layer in config["config"]["layers"]:
        if (layer.get("registered_name") or "").startswith("Scale"):
            layer["module"] = None
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def refusal(options: CheckOptions) -> str:
    with pytest.raises(CheckError) as caught:
        run_check(options)
    text = str(caught.value)
    assert "\n" not in text
    return text


def verdicts(outcome) -> dict[str, str]:
    return {row.leg: row.verdict for row in outcome.rows}


# -- the refusal names the classes, and following it makes the check pass --------------------

@pytest.mark.parametrize("module_null", [False, True], ids=["as-saved", "module-null"])
def test_a_keras_file_names_its_missing_classes_and_custom_objects_fix_it(
        tmp_path, monkeypatch, module_null):
    tag = "N" if module_null else "S"
    name = f"colayers_{tag.lower()}"
    module = write_module(tmp_path, name, KERAS3_LAYERS.format(tag=tag), monkeypatch)
    path = tmp_path / "custom.keras"
    keras3_model(module, tag, path)
    if module_null:
        null_module(path, tmp_path / "nulled.keras")
        path = tmp_path / "nulled.keras"
    unregister(module, tag)

    text = refusal(CheckOptions(model=str(path), paths=FAST_PATHS, report=None))
    assert text.startswith(f"{path}: 2 custom classes have no definition here: "
                           f"'Scale{tag}' (layer 'scale'), 'ctest{tag}>Shift{tag}' "
                           f"(layer 'shift');")
    entries = f"{{'Scale{tag}': Scale{tag}, 'ctest{tag}>Shift{tag}': Shift{tag}}}"
    assert ("with --custom-objects MODULE:NAME (NAME a dict in MODULE, as "
            f"keras.models.load_model(custom_objects=...) takes it: {entries})") in text
    assert (f"or with --plugins MODULE (a module that does "
            f"keras.saving.get_custom_objects().update({entries}))") in text

    # The line's dict, as the module defines it, is what --custom-objects names.
    outcome = run_check(CheckOptions(model=str(path), paths=FAST_PATHS, report=None,
                                     custom_objects=[f"{name}:CUSTOM_OBJECTS"]))
    assert verdicts(outcome) == {"keras>tf2onnx": "agrees", "keras>keras-torch": "agrees"}
    assert outcome.exit_code == 0
    (torch_row,) = [row for row in outcome.rows if row.leg == "keras>keras-torch"]
    assert torch_row.max_abs is not None and torch_row.max_abs < 1e-5


def test_a_plugins_module_that_registers_the_names_reaches_the_keras_torch_worker(
        tmp_path, monkeypatch):
    module = write_module(tmp_path, "colayers_p", KERAS3_LAYERS.format(tag="P"), monkeypatch)
    path = tmp_path / "custom.keras"
    keras3_model(module, "P", path, activation=module.doubleP)
    unregister(module, "P")
    text = refusal(CheckOptions(model=str(path), paths=FAST_PATHS, report=None))
    assert text.startswith(f"{path}: 3 custom objects have no definition here: 'doubleP' "
                           f"(function; layer 'dense'), 'ScaleP' (layer 'scale'), ")

    # The --plugins way of the refusal's line: a module that registers under the file's names.
    (tmp_path / "coplugin_p.py").write_text(textwrap.dedent("""
        import keras

        from colayers_p import ScaleP, ShiftP, doubleP

        keras.saving.get_custom_objects().update({'ScaleP': ScaleP, 'ctestP>ShiftP': ShiftP,
                                                  'doubleP': doubleP})
    """))

    outcome = run_check(CheckOptions(model=str(path), paths=FAST_PATHS, report=None,
                                     plugins=["coplugin_p"]))
    assert verdicts(outcome) == {"keras>tf2onnx": "agrees", "keras>keras-torch": "agrees"}
    setup = plugins.setup()
    assert "coplugin_p" in setup["plugins"] and str(tmp_path) in setup["sys_path"]


def test_a_tf_keras_h5_names_its_missing_classes_for_tf_keras(tmp_path, monkeypatch):
    module = write_module(tmp_path, "colayers_h", TF_KERAS_LAYERS.format(tag="H"), monkeypatch)
    tf_keras.utils.set_random_seed(0)
    inputs = tf_keras.Input((5,), name="features")
    x = tf_keras.layers.Dense(4, name="dense")(inputs)
    x = module.TfScaleH(name="scale")(x)
    model = tf_keras.Model(inputs, module.TfShiftH(name="shift")(x))
    model.get_layer("scale").scale.assign(np.array([0.5, 2.0, -1.0, 3.0], "float32"))
    model.save(tmp_path / "custom.h5", save_format="h5")
    tf_keras.saving.get_custom_objects().pop("tfctestH>TfShiftH")

    path = tmp_path / "custom.h5"
    text = refusal(CheckOptions(model=str(path), paths="tf_keras>tf2onnx-keras2", report=None))
    entries = "{'TfScaleH': TfScaleH, 'tfctestH>TfShiftH': TfShiftH}"
    assert ("2 custom classes have no definition here: 'TfScaleH' (layer 'scale'), "
            "'tfctestH>TfShiftH' (layer 'shift');") in text
    assert f"tf_keras.models.load_model(custom_objects=...) takes it: {entries}" in text
    assert f"tf_keras.saving.get_custom_objects().update({entries})" in text

    outcome = run_check(CheckOptions(model=str(path), paths="tf_keras>tf2onnx-keras2",
                                     report=None, custom_objects="colayers_h:CUSTOM_OBJECTS"))
    assert verdicts(outcome) == {"tf_keras>tf2onnx-keras2": "agrees"}
    # tf_keras' classes are registered with tf_keras only: they are no Keras 3 layers.
    assert "TfScaleH" not in keras.saving.get_custom_objects()


def test_the_scan_walks_wrappers_and_nested_models_and_counts_every_layer(tmp_path):
    def custom(name, registered="WrappedOne", module=None):
        return {"module": module, "class_name": registered.rpartition(">")[2],
                "registered_name": registered, "config": {"name": name}, "name": name}

    def function(name):  # as Keras writes a function that is not its own, and its own
        return {"module": "builtins", "class_name": "function", "config": name,
                "registered_name": "function"}

    def builtin(class_name, name, **config):
        return {"module": "keras.layers", "class_name": class_name, "registered_name": None,
                "config": {"name": name, **config}, "name": name}

    config = builtin("Functional", "outer", layers=[
        builtin("TimeDistributed", "timed", layer=custom("wrapped_a")),
        builtin("Sequential", "nested", layers=[
            custom("wrapped_b"), custom("wrapped_c"), custom("wrapped_d"),
            builtin("Dense", "head", kernel_initializer=custom(None, "initpkg>Init",
                                                                 "mypackage.inits")),
            builtin("Dense", "plain", kernel_initializer={
                "module": "keras.initializers", "class_name": "Zeros", "config": {},
                "registered_name": None}, activation=function("relu")),
            builtin("Dense", "activated", activation=function("fnpkg>my_fn")),
            {"class_name": "__keras_tensor__", "config": {"shape": [None, 3]}}])])
    with pytest.raises(MissingCustomObjects) as caught:
        scan_keras3_config(tmp_path / "nested.keras", config)
    text = str(caught.value)
    assert ("3 custom objects have no definition here: 'WrappedOne' (layers 'wrapped_a', "
            "'wrapped_b', 'wrapped_c' and 1 more), 'initpkg>Init' (layer 'head'), "
            "'fnpkg>my_fn' (function; layer 'activated');") in text
    assert "{'WrappedOne': WrappedOne, 'initpkg>Init': Init, 'fnpkg>my_fn': my_fn}" in text
    assert [m.key for m in caught.value.missing] == ["WrappedOne", "initpkg>Init",
                                                     "fnpkg>my_fn"]


# -- the workers: every process that loads the model gets the user's classes ----------------

def test_an_isolation_worker_runs_a_file_case_with_the_classes_this_process_used(
        tmp_path, monkeypatch):
    module = write_module(tmp_path, "colayers_i", KERAS3_LAYERS.format(tag="I"), monkeypatch)
    path = tmp_path / "custom.keras"
    keras3_model(module, "I", path)
    unregister(module, "I")
    plugins.use_custom_objects("colayers_i:CUSTOM_OBJECTS")
    (spec, *_) = files.file_specs(str(path))  # read here, as the check's parent reads it
    isolated = IsolatedHarness(FAST_PATHS, plugins=["tests.isolation_stages"])
    try:
        assert isolated.config["plugins"][0] == "tests.isolation_stages"
        assert isolated.config["custom_objects"] == ["colayers_i:CUSTOM_OBJECTS"]
        case = isolated.run(spec)
    finally:
        isolated.close()
    assert {leg.leg: leg.verdict for leg in case.legs} == {
        "keras>tf2onnx": "pass", "keras>keras-torch": "pass"}


def test_a_fresh_process_repeats_the_setup(tmp_path, monkeypatch):
    """What a worker does with the setup it is sent: the modules found from their folder
    (not its working directory), the dict's classes in Keras' global custom objects."""
    write_module(tmp_path, "colayers_f", KERAS3_LAYERS.format(tag="F"), monkeypatch)
    plugins.use_custom_objects("colayers_f:CUSTOM_OBJECTS")
    setup = plugins.setup()
    assert setup["custom_objects"] == ["colayers_f:CUSTOM_OBJECTS"]
    script = textwrap.dedent(f"""
        import json, os
        os.environ["KERAS_BACKEND"] = "torch"
        from harness.core.plugins import apply_setup
        from harness.runtimes.keras_custom import register_custom_objects
        problems = apply_setup(json.loads({json.dumps(setup)!r}))
        register_custom_objects()
        import keras
        known = keras.saving.get_custom_objects()
        print(json.dumps([problems, known["ScaleF"].__module__, "ctestF>ShiftF" in known]))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=os.path.dirname(plugins.__file__), timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [[], "colayers_f", True]


# -- a bad spec: one line, exit 2 -------------------------------------------------------------

@pytest.mark.parametrize(("spec", "said"), [
    ("colayers_b", "'colayers_b' is not MODULE:NAME"),
    ("colayers_missing:CUSTOM_OBJECTS", "cannot import module 'colayers_missing' "
                                        "(ModuleNotFoundError"),
    ("colayers_b:NOTHING", "module 'colayers_b' has no attribute 'NOTHING'"),
    ("colayers_b:NOT_A_DICT", "NOT_A_DICT is a list, not a dict of name -> class"),
    ("colayers_b:NOT_CLASSES", "NOT_CLASSES['ScaleB'] is a int, not a class"),
])
def test_a_bad_custom_objects_spec_is_one_line(tmp_path, monkeypatch, spec, said):
    write_module(tmp_path, "colayers_b", KERAS3_LAYERS.format(tag="B"), monkeypatch)
    text = refusal(CheckOptions(model=str(tmp_path / "absent.keras"), report=None,
                                custom_objects=[spec]))
    assert text.startswith("--custom-objects ") and said in text


# -- the command: exit 2 with the line, exit 0 after following it ----------------------------

def test_the_command_exits_2_with_the_line_and_0_with_custom_objects(tmp_path, monkeypatch):
    module = write_module(tmp_path, "colayers_c", KERAS3_LAYERS.format(tag="C"), monkeypatch)
    keras3_model(module, "C", tmp_path / "custom.keras")
    def parity(*args):
        return subprocess.run([sys.executable, "-m", "harness.cli", "check", "custom.keras",
                               "--report", "none", "-q", *args], cwd=tmp_path,
                              capture_output=True, text=True, timeout=600)

    refused = parity("--paths", "keras>keras-torch")
    assert refused.returncode == 2, refused.stderr[-2000:]
    lines = [line for line in refused.stderr.splitlines() if line.startswith("parity check:")]
    assert len(lines) == 1 and "'ScaleC' (layer 'scale')" in lines[0]
    assert "--custom-objects MODULE:NAME" in lines[0]

    checked = parity("--paths", "keras>keras-torch", "--custom-objects",
                     "colayers_c:CUSTOM_OBJECTS")
    assert checked.returncode == 0, checked.stderr[-2000:] + checked.stdout
    assert "keras>keras-torch  agrees" in checked.stdout

    bad = parity("--custom-objects", "colayers_c:NOTHING")
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines()[-1] == (
        "parity check: --custom-objects colayers_c:NOTHING: module 'colayers_c' has no "
        "attribute 'NOTHING'")
