"""Whose fault is it when a converted module does not compile or export.

``torch.compile``, ``torch.export.export`` and ``torch.onnx.export`` fail with long messages
whose useful part is one frame: the line of the converter's module where tracing stopped.
``diagnose(exc)`` reads it out of the exception (the "from user code:", "The following call
raised this error:" and "User stack:" sections PyTorch writes, the fx node it was executing,
and the exception's own traceback) and says whose failure it is:

- ``converter``: the module computes a size from a tensor's values (a data-dependent guard: an
  ONNX Reshape whose constant shape the converter keeps as a tensor and reads back at run
  time), bakes a size into the graph that the case declares free (a ``Dim`` that export
  finds specialised to a constant), its own code raises a plain Python error while it is
  traced (onnx2torch reading a private torch attribute that is gone), or it registers a
  submodule under a name with a ``.`` that the tracer reads as a path (onnx2pytorch names
  its submodules after the ONNX graph's tensor names);
- ``torch``: everything else, which PyTorch itself owns: Dynamo's internal errors and the
  graph breaks it calls its own bugs or limits, a backend (Inductor) that fails on a graph
  Dynamo traced, an exporter without a translation for an op.

The text goes into the leg's message, where a reader and a known-issue entry both find it.
"""

from __future__ import annotations

import linecache
import re
import sys
import sysconfig
import traceback
from dataclasses import dataclass
from pathlib import Path

CONVERTER = "converter"
TORCH = "torch"

FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<function>\S+)\n'
                   r'(?P<code>[ \t]+\S[^\n]*)?')
SECTIONS = ("from user code:", "The following call raised this error:", "User stack:")
FX_NODE = re.compile(r"While executing %(?P<name>\S+) : [^\n]*?"
                     r"(?P<op>call_module|call_function|call_method)\[target=(?P<target>[^\]]+)\]")
DATA_DEPENDENT = re.compile(
    r"GuardOnDataDependentSymNode|Could not guard on data-dependent|Data-dependent branching|"
    r"data-dependent|DataDependentOutputException|Could not extract specialized integer|"
    # a set or dict of the values read out of a tensor (non-strict export makes them SymInts)
    r"unhashable type: non-nested SymInt")
BAKED = re.compile(r"specialized it to be a constant \((?P<value>\d+)\)|"
                   r"Not all values of (?P<dim>\S+) .*? are valid")
DYNAMO_OWN = re.compile(r"InternalTorchDynamoError|likely to be a Dynamo bug|"
                        r"please report an issue to PyTorch", re.IGNORECASE)
BACKEND = re.compile(r"BackendCompilerFailed|InductorError|LoweringException")

_STDLIB = Path(sysconfig.get_paths()["stdlib"]).resolve()


@dataclass(frozen=True)
class Frame:
    file: str
    line: int
    function: str
    code: str

    @property
    def owner(self) -> str:
        """The distribution whose code this is: the package folder under site-packages,
        ``parity`` for parity's own (the .mat importer), ``python`` for the standard library,
        ``fx`` for an fx GraphModule's generated forward."""
        if self.file.startswith("<eval_with_key>"):
            return "fx"
        parts = Path(self.file).parts
        for marker in ("site-packages", "dist-packages"):
            if marker in parts:
                return parts[parts.index(marker) + 1]
        module = module_of(self.file)
        if module is not None:  # a package installed from a source tree (pip install -e)
            top = module.split(".", 1)[0]
            return "parity" if top == "harness" else top
        if "harness" in parts:
            return "parity"
        try:
            Path(self.file).resolve().relative_to(_STDLIB)
            return "python"
        except ValueError:
            return Path(self.file).stem

    def short(self) -> str:
        parts = Path(self.file).parts
        module = module_of(self.file)
        for marker in ("site-packages", "dist-packages"):
            if marker in parts:
                parts = parts[parts.index(marker) + 1:]
                break
        else:
            if module is not None:  # where the package is imported from, not installed to
                parts = (*module.split(".")[:-1], Path(self.file).name)
            elif "harness" in parts:
                parts = parts[parts.index("harness"):]
        return f"{'/'.join(parts)}:{self.line} in {self.function}"


def module_of(file: str) -> str | None:
    """The dotted name of the loaded module whose source ``file`` is (a package's
    ``__init__.py`` names the package's ``__init__``), or None: the same words for a
    converter in site-packages and one installed editable from its source tree."""
    # A loaded module keeps its file, so a name found is kept; a file no module has is
    # looked for again only once more modules are loaded.
    found = _MODULE_OF.get(file)
    if not isinstance(found, str) and found != len(sys.modules):
        _MODULE_OF[file] = found = _search_module_of(file)
    return found if isinstance(found, str) else None


def _search_module_of(file: str) -> str | int:
    """The module's name, or the count of loaded modules none of which is ``file``'s."""
    loaded = len(sys.modules)
    try:
        wanted = Path(file).resolve()
    except (OSError, RuntimeError):
        return loaded
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if path and path.endswith(wanted.name) and Path(path).resolve() == wanted:
            return f"{name}.__init__" if wanted.name == "__init__.py" else name
    return loaded


_MODULE_OF: dict[str, str | int] = {}


@dataclass(frozen=True)
class Diagnosis:
    party: str  # CONVERTER or TORCH
    what: str  # "data-dependent guard", "baked size", "graph break", ...
    frame: Frame | None  # the innermost line of the module's own code (not torch's)
    node: str | None  # the fx node tracing was executing, or the generated line that calls it
    why: str

    def text(self) -> str:
        where = "" if self.frame is None else (
            f"\nblocked at: {self.frame.short()}: `{self.frame.code}` ({self.frame.owner})")
        node = "" if self.node is None else f"\nnode: {self.node}"
        return f"whose: {self.party} ({self.what}): {self.why}{where}{node}"


def frames_of(exc: BaseException) -> list[Frame]:
    """The frames PyTorch names in its message (user code first to innermost), else the
    exception's own traceback."""
    message = str(exc)
    found = []
    for section in SECTIONS:
        at = message.find(section)
        if at >= 0:
            found = [Frame(m["file"], int(m["line"]), m["function"], (m["code"] or "").strip())
                     for m in FRAME.finditer(message[at:])]
            if found:
                break
    if not found:  # the tracebacks, outermost first: an exporter re-raises what it caught
        found = [Frame(f.filename, f.lineno or 0, f.name, (f.line or "").strip())
                 for error in (exc, *_chain(exc))
                 for f in traceback.extract_tb(error.__traceback__)]
    return found + guard_frames(exc)


# A data-dependent guard names the line that asked it ("Caused by: [code  # ]file:line in
# function (file:line in function)", torch.fx.experimental.symbolic_shapes): torch.export's
# non-strict trace runs the module's own code, which no other section names.
CAUSED_BY = re.compile(r"Caused by: (?:(?P<code>[^\n]*?)  # (?P<file>[^\n]+?):(?P<line>\d+) in "
                       r"(?P<function>\S+) )?\((?P<floc>[^\n()]+?):(?P<fline>\d+) in "
                       r"(?P<ffunction>[^\s()]+)\)")


def guard_frames(exc: BaseException) -> list[Frame]:
    """The frame a data-dependent guard in ``exc`` or its causes says caused it."""
    for error in (exc, *_chain(exc)):
        found = CAUSED_BY.search(str(error))
        if found is None:
            continue
        if found["file"]:
            file, line, function = found["file"], found["line"], found["function"]
        else:
            file, line, function = found["floc"], found["fline"], found["ffunction"]
        file = _unshortened(file)
        code = found["code"] or linecache.getline(file, int(line))
        return [Frame(file, int(line), function, code.strip())]
    return []


def _unshortened(file: str) -> str:
    """``file`` as PyTorch shortened it (relative to the folder it shares with torch's
    package: torch's own files from inside it, an installed package's from site-packages),
    made whole where that file is there."""
    if Path(file).is_absolute():
        return file
    import torch  # the trace that wrote the message imported it

    package = Path(torch.__file__).resolve().parent
    for folder in (package, package.parent):
        if (folder / file).is_file():
            return str(folder / file)
    return file


def module_frame(frames: list[Frame]) -> Frame | None:
    """The innermost frame of the module's own code: neither PyTorch's, nor the standard
    library's, nor this stage's."""
    own = [f for f in frames if f.owner not in ("torch", "python", "fx", "onnxscript")
           and "converters/torch_" not in f.file]
    return own[-1] if own else None


# An exporter without a translation names the ATen operator.
ATEN_OP = re.compile(r"operator '(?P<op>aten::\w+)'|(?P<target>aten\.\w+\.\w+)")


def fx_node(message: str, frames: list[Frame]) -> str | None:
    found = FX_NODE.search(message)
    if found:
        return f"%{found['name']} ({found['op']} {found['target']})"
    op = ATEN_OP.search(message)
    if op:
        return f"operator {op['op'] or op['target']}"
    generated = [f for f in frames if f.owner == "fx" and f.code]
    return f"`{generated[-1].code}` (the module's generated forward)" if generated else None


def diagnose(exc: BaseException, *, declared_free: bool = False, module=None) -> Diagnosis:
    """Whose failure ``exc`` (raised by torch.compile, torch.export or torch.onnx.export on a
    converted module) is, and where it stopped. ``declared_free``: the export declared a
    dimension free (a ``Dim``), so a specialisation is a size the module baked in.
    ``module``: the module that was traced, where the stage has it."""
    message = f"{type(exc).__name__}: {exc}"
    for inner in _chain(exc):
        message += f"\n{type(inner).__name__}: {inner}"
    frames = frames_of(exc)
    frame = module_frame(frames)
    node = fx_node(message, frames)
    owner = frame.owner if frame is not None else "the module"
    dotted = dotted_name_looked_up(message, module)
    if dotted is not None:
        return Diagnosis(CONVERTER, "dotted submodule name", None, node,
                         f"{_package_of(module)}'s module registers a submodule under a name "
                         f"with a '.' (`{dotted}`), which torch.nn.Module.add_module refuses: "
                         f"the tracer reads the name as a path of submodules and finds none")
    if BAKED.search(message) and declared_free:
        value = BAKED.search(message)["value"]
        return Diagnosis(CONVERTER, "baked size", frame, node,
                         f"{owner}'s module fixes a dimension the case declares free"
                         + (f" to {value}" if value else "")
                         + " (torch.export found the declared Dim specialised)")
    if DATA_DEPENDENT.search(message) and frame is not None:
        return Diagnosis(CONVERTER, "data-dependent guard", frame, node,
                         f"{owner}'s module branches on or sizes by a tensor's values (a "
                         f"shape or attribute kept as a tensor and read back at run time), "
                         f"which tracing cannot know; the graph's own sizes are constants")
    # The error the exporter wrapped (the dynamo ONNX exporter wraps torch.export's).
    raised = (_chain(exc) or [exc])[-1]
    raiser = raised_in(raised)
    if raiser is not None and type(raised).__module__ == "builtins" and \
            raiser.owner not in ("torch", "python", "fx", "onnxscript", "parity"):
        return Diagnosis(CONVERTER, "raised in its own code", raiser, node,
                         f"{raiser.owner}'s own code raised {type(raised).__name__} while "
                         f"PyTorch traced the module (not a tracing error of PyTorch's)")
    if BACKEND.search(message):
        return Diagnosis(TORCH, "backend", frame, node,
                         "Dynamo traced the module and the compiler backend failed on its graph")
    if DYNAMO_OWN.search(message):
        return Diagnosis(TORCH, "dynamo internal", frame, node,
                         "Dynamo fails inside itself on code eager PyTorch runs (its message "
                         "asks for a report to PyTorch)")
    if DATA_DEPENDENT.search(message):
        return Diagnosis(TORCH, "data-dependent guard", frame, node,
                         "a data-dependent guard inside PyTorch's own code")
    return Diagnosis(TORCH, "unsupported", frame, node,
                     "PyTorch cannot trace or translate this code")


# torch's message when a path of submodule names (``a.b`` read as ``a``, then ``b``) breaks.
NO_ATTRIBUTE = re.compile(r"has no attribute `(?P<name>[^`]+)`")


def dotted_name_looked_up(message: str, module) -> str | None:
    """The name with a ``.`` under which ``module`` (or one of its submodules) registered a
    submodule, where ``message`` says a lookup of the part before a ``.`` failed."""
    looked_up = {found["name"] for found in NO_ATTRIBUTE.finditer(message)}
    if not looked_up or module is None or not hasattr(module, "modules"):
        return None
    for inner in module.modules():
        for name in getattr(inner, "_modules", {}):
            if "." in name and any(name.startswith(f"{prefix}.") for prefix in looked_up):
                return name
    return None


def _package_of(module) -> str:
    return type(module).__module__.split(".", 1)[0]


def raised_in(exc: BaseException) -> Frame | None:
    """The innermost frame of the exception's own traceback."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return None
    last = frames[-1]
    return Frame(last.filename, last.lineno or 0, last.name, (last.line or "").strip())


def _chain(exc: BaseException) -> list[BaseException]:
    seen, inner = [], exc.__cause__ or exc.__context__
    while inner is not None and inner not in seen and len(seen) < 4:
        seen.append(inner)
        inner = inner.__cause__ or inner.__context__
    return seen


ANSI = re.compile(r"\x1b\[[0-9;]*m")


def first_line(exc: BaseException) -> str:
    text = ANSI.sub("", str(exc)).strip()
    return text.splitlines()[0] if text else type(exc).__name__
