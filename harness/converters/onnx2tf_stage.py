"""onnx → TensorFlow with onnx2tf, as its users run it: two legs from one conversion.

``onnx2tf``        the SavedModel onnx2tf writes, run by TensorFlow through its
                   ``serving_default`` signature (artifact format ``tf-signature``).
``onnx2tf-tflite`` the float32 TFLite file it writes beside it, run by the LiteRT
                   interpreter through its signature runner (format ``tflite``).

onnx2tf runs in a worker process with its own folder on the path
(``harness.converters.onnx2tf_worker``, ``harness.converters.onnx2tf_install``); a stage is
not available (``parity check`` leaves its paths out with the command to run) until
``parity install onnx2tf`` has put it there. One conversion serves both stages: the second
reuses the first's output for the same model bytes. The worker's ``PATH`` starts with this
environment's scripts, so onnx2tf's own onnxsim passes (it calls the ``onnxsim`` command
three times) run the onnxsim installed here, whether or not the venv is activated.

Inputs and outputs are mapped by the names onnx2tf writes (the SavedModel signature's inputs
are the model's input names, its outputs ``output_0``, ... in the ONNX output order; the
TFLite signature's are the names onnx2tf gives its Keras inputs and outputs, the ONNX ones)
and by the layout it documents and records
(``harness.converters.onnx2tf_layout``): each artifact's ``meta`` holds ``input_perms`` and
``output_perms``, which the runners apply. onnx2tf 1.29 offers no PyTorch output, so there
is no third leg.
"""

from __future__ import annotations

import atexit
import collections
import hashlib
import inspect
import os
import pprint
import tempfile
import time
from pathlib import Path

from harness.converters import (
    Artifact,
    ConversionError,
    ConvertOptions,
    ScriptRecipe,
    TransientFailure,
)
from harness.converters.onnx2tf_install import environment, home, require, version
from harness.converters.onnx2tf_install import fingerprint as install_fingerprint
from harness.converters.onnx2tf_layout import LayoutError, input_perm, output_perm
from harness.converters.onnx2tf_worker import (
    CALIBRATION_FILE,
    CONVERT_SWITCHES,
    calibration_images,
)
from harness.converters.onnx_ir import declared_shape
from harness.converters.saved_formats import SavedFiles, load_savedmodel
from harness.core.stages import stage
from harness.runtimes.keras import call_tf
from harness.runtimes.litert import interpreter, transposed
from harness.runtimes.worker import WorkerProcess

SIGNATURE = "serving_default"
DEFAULT_TIMEOUT = 600.0
STARTUP_TIMEOUT = 300.0
TIMEOUT_VARIABLE = "PARITY_ONNX2TF_TIMEOUT"
PACKAGES = ("tensorflow", "tf_keras", "onnxsim", "onnx", "onnxruntime", "ai-edge-litert")


class Onnx2TfError(ConversionError):
    """onnx2tf refused or failed the model; the message quotes its last log lines."""


class Onnx2TfWorkerError(Onnx2TfError, TransientFailure):
    """onnx2tf's worker timed out, died or would not start: not onnx2tf's answer."""


# -- the worker --------------------------------------------------------------------------------

class Onnx2TfWorker:
    """A client for one persistent onnx2tf worker; starts it on first use, a fresh one after
    a crash or a timeout."""

    def __init__(self, folder: Path):
        env = {**environment(folder), "CUDA_VISIBLE_DEVICES": ""}
        self._worker = WorkerProcess("harness.converters.onnx2tf_worker", env=env)
        self._next_id = 0
        self.info: dict = {}

    def _read(self, timeout: float, doing: str) -> dict:
        try:
            reply = self._worker.receive(time.monotonic() + timeout)
        except TimeoutError:
            self._worker.kill()  # its scratch folder goes with its temporary folder
            raise Onnx2TfWorkerError(f"onnx2tf did not finish within {timeout:g} s while {doing}; "
                               f"its worker was killed ({TIMEOUT_VARIABLE} sets the limit)"
                               ) from None
        if reply is None:
            tail = self._worker.tail()[-1500:].strip()
            ended = self._worker.exit_text()
            self._worker.kill()  # reaps it: its temporary folder goes now
            raise Onnx2TfWorkerError(f"the onnx2tf worker {ended} while {doing}"
                               + (f"; its last words:\n{tail}" if tail else ""))
        return reply

    def start(self) -> None:
        self._worker.start()
        reply = self._read(STARTUP_TIMEOUT, "starting")
        self.info = reply
        if not reply.get("ready"):
            self._worker.close()
            raise Onnx2TfWorkerError(f"the onnx2tf worker failed to start: {reply.get('error')}")

    def convert(self, onnx_path: Path, out: Path) -> dict:
        if not self._worker.alive():
            self.start()
        self._next_id += 1
        self._worker.send({"op": "convert", "id": self._next_id, "onnx": str(onnx_path),
                           "out": str(out)})
        timeout = float(os.environ.get(TIMEOUT_VARIABLE, DEFAULT_TIMEOUT))
        return self._read(timeout, f"converting {onnx_path.name}")

    def close(self) -> None:
        self._worker.close(goodbye={"op": "exit"}, grace_s=5)


_WORKER: list[Onnx2TfWorker] = []


def worker(folder: Path) -> Onnx2TfWorker:
    if not _WORKER:
        _WORKER.append(Onnx2TfWorker(folder))
    return _WORKER[0]


@atexit.register
def shutdown() -> None:
    for client in _WORKER:
        client.close()
    _WORKER.clear()


# -- one conversion, two artifacts -------------------------------------------------------------

class Conversion:
    """What onnx2tf wrote for one model (or why it failed), and the tensor mapping."""

    def __init__(self, owner, out: Path, reply: dict, onnx_outputs: list[str],
                 input_perms: list, output_perms: list):
        self.owner, self.out, self.reply = owner, out, reply
        # the names of onnx2tf's inputs (its signature's) and of the ONNX outputs, in order
        self.signature_inputs = [name for name, _ in reply["inputs"]]
        self.onnx_outputs = onnx_outputs
        self.input_perms, self.output_perms = input_perms, output_perms


_RECENT: collections.OrderedDict[str, Conversion | Onnx2TfError] = collections.OrderedDict()
RECENT_KEPT = 4  # the two stages of a case ask one after the other


def onnx_signature(model) -> tuple[list[tuple[str, list | None]], list[tuple[str, list | None]]]:
    """The model's (name, shape) inputs (initialisers left out) and outputs, shapes inferred."""
    import onnx

    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except Exception:  # noqa: BLE001  (shapes then come from the graph as written)
        inferred = model
    initialisers = {init.name for init in model.graph.initializer}
    inputs = [(vi.name, declared_shape(vi)) for vi in inferred.graph.input
              if vi.name not in initialisers]
    outputs = [(vi.name, declared_shape(vi)) for vi in inferred.graph.output]
    return inputs, outputs


def convert_once(artifact: Artifact, options: ConvertOptions) -> Conversion:
    folder = require()
    data = artifact.model.SerializeToString()
    key = hashlib.sha256(data).hexdigest()
    found = _RECENT.get(key)
    if found is None:
        found = _convert(folder, artifact.model, data, options)
        _RECENT[key] = found
        while len(_RECENT) > RECENT_KEPT:
            _RECENT.popitem(last=False)
    if isinstance(found, Onnx2TfError):
        raise found
    return found


def _convert(folder: Path, model, data: bytes,
             options: ConvertOptions) -> Conversion | Onnx2TfError:
    if options.workdir is not None:
        Path(options.workdir).mkdir(parents=True, exist_ok=True)
    owner = tempfile.TemporaryDirectory(prefix="parity-onnx2tf-", dir=options.workdir)
    root = Path(owner.name)
    onnx_path, out = root / "model.onnx", root / "out"
    onnx_path.write_bytes(data)  # onnx2tf rewrites its input file: this copy is its own
    reply = worker(folder).convert(onnx_path, out)
    if not reply.get("ok"):
        log = reply.get("log") or ""
        return Onnx2TfError(f"onnx2tf {version() or ''} failed: {reply.get('error')}"
                            + (f"\n{log}" if log else ""))
    onnx_inputs, onnx_outputs = onnx_signature(model)
    declared_inputs = reply["inputs"]
    try:
        if len(declared_inputs) != len(onnx_inputs):
            raise LayoutError(f"onnx2tf's model takes {len(declared_inputs)} inputs, the ONNX "
                              f"model {len(onnx_inputs)}")
        if len(reply["outputs"]) != len(onnx_outputs):
            raise LayoutError(f"onnx2tf's model has {len(reply['outputs'])} outputs, the ONNX "
                              f"model {len(onnx_outputs)}")
        input_perms = [input_perm(name, shape or [None] * len(declared or ()),
                                  declared or [None] * len(shape or ()))
                       for (name, shape), (_, declared) in zip(onnx_inputs, declared_inputs)]
        layouts = reply.get("layouts", {})
        output_perms = [output_perm(name, shape, declared, bool(layouts.get(name)))
                        for (name, shape), declared in zip(onnx_outputs, reply["outputs"])]
    except LayoutError as exc:
        return Onnx2TfError(str(exc))
    return Conversion(owner, out, reply, [name for name, _ in onnx_outputs], input_perms,
                      output_perms)


def _perm_meta(conversion: Conversion) -> dict:
    return {"input_perms": [None if p is None else list(p) for p in conversion.input_perms],
            "output_perms": [None if p is None else list(p) for p in conversion.output_perms],
            "onnx2tf": version()}


# -- the standalone scripts' recipes (``parity repro --script``, harness.sources.onnx.repro) -----

# onnx2tf called as the worker calls it, in a scratch folder holding the calibration images
# the worker writes (harness.converters.onnx2tf_worker): the Keras model and the output folder.
_CONVERT_CODE = """\
def onnx2tf_convert(model):
    \"\"\"onnx2tf.convert as parity's stage calls it: its command line's defaults plus the two
    switches that keep the names a reader maps by, on a copy of the model (onnx2tf rewrites its
    input file), in a scratch folder holding the calibration images parity writes there (onnx2tf
    reads them for small 3-channel image inputs, else downloads them), removed when the script
    ends. Its log's last lines are printed where it fails.\"\"\"
    folder = tempfile.mkdtemp(prefix="onnx2tf-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)  # read until the script ends
    path, out = os.path.join(folder, "model.onnx"), os.path.join(folder, "out")
    onnx.save(model, path)
    np.save(os.path.join(folder, CALIBRATION_FILE), calibration_images())
    here, log = os.getcwd(), io.StringIO()
    os.chdir(folder)
    try:
        with contextlib.redirect_stdout(log):
            keras_model = onnx2tf.convert(input_onnx_file_path=path, output_folder_path=out,
                                          **CONVERT_SWITCHES)
    except (Exception, SystemExit) as exc:
        lines = [re.sub(r"\\x1b\\[[0-9;]*m", "", line) for line in log.getvalue().splitlines()]
        print("\\n".join(line for line in lines if line.strip())[-3000:])
        if isinstance(exc, SystemExit):
            raise RuntimeError(f"onnx2tf exited with status {exc.code}") from None
        raise
    finally:
        os.chdir(here)
    if keras_model is None:
        raise RuntimeError("onnx2tf.convert returned no model")
    return keras_model, out"""

# what the worker calls onnx2tf with, written into the script from the worker's own values
_CONVERT_DEFINED = (f"CALIBRATION_FILE = {CALIBRATION_FILE!r}\n"
                    f"CONVERT_SWITCHES = {pprint.pformat(CONVERT_SWITCHES, width=72)}\n\n\n"
                    f"{inspect.getsource(calibration_images).rstrip()}\n\n\n{_CONVERT_CODE}")

_SAVEDMODEL_CODE = """\
def read_outputs(out, feeds, onnx_names):
    \"\"\"The SavedModel's serving_default signature on feeds: its outputs output_0, ... are
    the ONNX outputs in order.\"\"\"
    signature = tf.saved_model.load(out).signatures["serving_default"]
    found = signature(**{name: tf.constant(x) for name, x in feeds.items()})
    return [found[f"output_{i}"].numpy() for i in range(len(onnx_names))]"""

_TFLITE_CODE = """\
def check_signature(out, keras_model, onnx_names):
    \"\"\"The float32 TFLite file's serving_default signature names the model's inputs and the
    ONNX outputs, else it is refused as parity's stage refuses it: nothing to map by name.\"\"\"
    path = sorted(glob.glob(os.path.join(out, "*_float32.tflite")))[0]
    signatures = Interpreter(model_path=path).get_signature_list()
    if "serving_default" not in signatures:
        raise RuntimeError(f"{os.path.basename(path)} has no 'serving_default' signature")
    names, inputs = signatures["serving_default"], [t.name for t in keras_model.inputs]
    if sorted(names["inputs"]) != sorted(inputs) or sorted(names["outputs"]) != sorted(onnx_names):
        raise RuntimeError(f"{os.path.basename(path)}'s signature names inputs {names['inputs']} "
                           f"and outputs {names['outputs']}, not the ONNX model's {inputs} "
                           f"and {onnx_names}: they cannot be mapped by name")


def read_outputs(out, feeds, onnx_names):
    \"\"\"The float32 TFLite file run by the LiteRT interpreter through its serving_default
    signature runner: its outputs carry the ONNX outputs' names.\"\"\"
    path = sorted(glob.glob(os.path.join(out, "*_float32.tflite")))[0]
    runner = Interpreter(model_path=path).get_signature_runner("serving_default")
    found = runner(**feeds)
    return [np.asarray(found[name]) for name in onnx_names]"""

_IMPORTS = ("import atexit", "import contextlib", "import os", "import re", "import shutil",
            "import tempfile", "",
            "import onnx2tf")
_WHAT = ("Converts the embedded ONNX model with onnx2tf.convert, as parity's {stage} stage does "
         "(in a scratch folder, with its calibration images), feeds each input of rank 3 or more "
         "channel-last (axis 1 last, as onnx2tf documents), runs {reader} and maps each output "
         "back to ONNX's layout (from channel-last where its shape is the channel-last form of "
         "the expected one, as onnx2tf records where both fit),")


def _runs_with(base: dict[str, str]) -> dict[str, str]:
    """onnx2tf pins its own old stack, so parity installs it apart: a script runs, as the
    stage's worker does, with that folder first on PYTHONPATH."""
    return environment(home(), base)


def _recipe(stage_name: str, reader: str, read_code: str, imports: tuple[str, ...],
            packages: tuple[str, ...], check: str = "") -> ScriptRecipe:
    return ScriptRecipe(
        imports=(*_IMPORTS, *imports),
        convert="        keras_model, out = onnx2tf_convert(model)" + check,
        what=_WHAT.format(stage=stage_name, reader=reader),
        packages=("numpy", "onnx", "onnxruntime", "onnx2tf", *packages),
        defined=(_CONVERT_DEFINED, read_code), runs_with=_runs_with)


# -- the stages --------------------------------------------------------------------------------

class _Onnx2TfStage:
    def __init__(self):
        self.folder = require()  # not installed: an ImportError naming the command

    def fingerprint(self) -> str:
        """What this stage runs, for the stage cache's key: onnx2tf's folder, whose code this
        process never imports (so no package fingerprint covers it)."""
        return install_fingerprint(self.folder)


@stage("onnx2tf", "onnx", "tf-signature", packages=PACKAGES)
class Onnx2TfConverter(_Onnx2TfStage):
    script = _recipe("onnx2tf", "the SavedModel's serving_default signature with TensorFlow",
                     _SAVEDMODEL_CODE, ("import tensorflow as tf",), ("tensorflow", "tf_keras"))

    def convert(self, artifact: Artifact, options: ConvertOptions) -> Artifact:
        conversion = convert_once(artifact, options)
        saved = conversion.out
        if not (saved / "saved_model.pb").is_file():
            raise Onnx2TfError(f"onnx2tf wrote no SavedModel ({', '.join(conversion.reply['files'])})")
        outputs = [f"output_{i}" for i in range(len(conversion.output_perms))]
        return Artifact("tf-signature", SavedFiles(saved, conversion.owner),
                        list(artifact.input_names),
                        {"signature": SIGNATURE, "signature_inputs": conversion.signature_inputs,
                         "signature_outputs": outputs, **_perm_meta(conversion)})


@stage("onnx2tf-tflite", "onnx", "tflite", packages=PACKAGES)
class Onnx2TfTfliteConverter(_Onnx2TfStage):
    script = _recipe("onnx2tf-tflite", "the float32 TFLite file with the LiteRT interpreter",
                     _TFLITE_CODE, ("import glob", "from ai_edge_litert.interpreter import Interpreter"),
                     ("tensorflow", "tf_keras", "ai-edge-litert"),
                     "\n        check_signature(out, keras_model, [o.name for o in model.graph.output])")

    def convert(self, artifact: Artifact, options: ConvertOptions) -> Artifact:
        conversion = convert_once(artifact, options)
        found = sorted(conversion.out.glob("*_float32.tflite"))
        if not found:
            raise Onnx2TfError(f"onnx2tf wrote no float32 TFLite file "
                               f"({', '.join(conversion.reply['files'])})")
        flat = found[0].read_bytes()
        signatures = interpreter(flat).get_signature_list()
        if SIGNATURE not in signatures:
            raise Onnx2TfError(f"{found[0].name} has no {SIGNATURE!r} signature")
        names = signatures[SIGNATURE]
        inputs, outputs = conversion.signature_inputs, conversion.onnx_outputs
        if sorted(names["inputs"]) != sorted(inputs) or sorted(names["outputs"]) != sorted(outputs):
            raise Onnx2TfError(f"{found[0].name}'s signature names inputs {names['inputs']} "
                               f"and outputs {names['outputs']}, not the ONNX model's {inputs} "
                               f"and {outputs}: they cannot be mapped by name")
        return Artifact("tflite", flat, list(artifact.input_names),
                        {"signature": SIGNATURE, "tflite_inputs": list(inputs),
                         "tflite_outputs": list(outputs), **_perm_meta(conversion)})


# -- the runner of ``tf-signature`` artifacts --------------------------------------------------

class SignatureRunner:
    """A SavedModel run by TensorFlow through a named signature, inputs and outputs by the
    names and permutations the artifact's ``meta`` holds. The runner registry names it by
    ``"harness.converters.onnx2tf_stage:SignatureRunner"``."""

    name = "tensorflow"

    def __init__(self, device: str = "cpu", threads: int = 0):
        self.device = device

    def run(self, artifact, inputs):
        import tensorflow as tf

        meta = artifact.meta
        signature = load_savedmodel(artifact.model).signatures[meta["signature"]]
        names, perms = meta["signature_inputs"], meta.get("input_perms") or [None] * len(inputs)
        feeds = [transposed(x, perm) for x, perm in zip(inputs, perms)]

        def call(*xs):
            found = signature(**{name: tf.convert_to_tensor(x) for name, x in zip(names, xs)})
            return [found[name] for name in meta["signature_outputs"]]

        outputs = call_tf(call, feeds)
        back = meta.get("output_perms") or [None] * len(outputs)
        return [transposed(y, perm) for y, perm in zip(outputs, back)]
