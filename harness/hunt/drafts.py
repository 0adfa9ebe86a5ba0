"""A group's draft known-issue entry, with its standalone script checked in a fresh process.

``python -m harness.hunt.drafts --state DIR --group KEY --paths P [--plugins M,...]`` runs in a
process of its own (the hunt starts one per group, with the time left as its timeout, so that
no framework is imported by the hunt itself): it runs the group's minimal spec in-process,
writes the reproducer ``parity repro --script`` writes for the failing leg, with the verdict
``parity issues export`` adds (REPRODUCED, FIXED, DIFFERENT, CANNOT RUN), runs that script in a
fresh interpreter and writes, under ``DIR/drafts/<id>/``:

- ``draft.toml``: one ``[[issue]]`` in ``known_issues.d``'s format (id, nature, party, url,
  reason, legs, kind, category, message, minimal), with comments giving the script's verdict,
  the upstream search line and the known entries of the same kind and party to compare with;
- ``repro.py`` and ``repro.out`` (what it printed, its exit code).

It prints one line of JSON: what the hunt records of the draft. Nothing is written into
``harness/known_issues.d``: a person reviews the draft first (docs/hunt.md).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from harness import upstream
from harness.converters import get
from harness.core import known_issues
from harness.core.frameworks import prepare_imports
from harness.core.known_issues import NATURES, ONNX_STAGES, PARTIES
from harness.core.plugins import import_modules
from harness.core.spec import LayerSpec
from harness.core.stages import ScriptRecipe
from harness.core.tolerance import TolerancePolicy
from harness.hunt import triage
from harness.hunt.state import STATE_FILE, Group
from harness.repro_script import ScriptError, write_script
from harness.run.pipeline import Harness

SCRIPT_TIMEOUT = 300.0
DRAFTS = "drafts"
# stages whose name is not their party's
STAGE_PARTIES = {"ort-optimized": "onnxruntime", "keras-onnx": "keras", "keras-torch": "keras",
                 "keras-file": "keras", "h5": "tf_keras", "savedmodel": "keras",
                 "tf2onnx-savedmodel": "tf2onnx", "tf2onnx-keras2": "tf2onnx",
                 "tf-keras": "tf_keras", "keras3": "keras", "tflite": "litert",
                 "tflite-savedmodel": "litert", "onnx2tf-tflite": "onnx2tf",
                 "mat2torch": "parity", "onnx": "onnx", "keras": "keras"}
EXCEPTION = re.compile(r"raised (\w+(?:Error|Exception|Failure))")


def party_of(stage: str) -> str:
    """Whose a stage's fault is: its own name where that is a party, the party a known stage
    belongs to, or the party whose name a plugin stage starts with (``onnx2torch-fast``);
    ``parity`` where none fits (the reviewer names it)."""
    if stage in PARTIES:
        return stage
    if stage in STAGE_PARTIES:
        return STAGE_PARTIES[stage]
    return next((p for p in sorted(PARTIES, key=len, reverse=True)
                 if stage.startswith(p + "-")), "parity")


def nature_of(group: Group) -> str:
    if group.stage == group.source:  # the source's own two readings disagree
        return "reference"
    return "wrong-output" if group.category in triage.COMPARISONS else "refusal"


def draft_id(group: Group) -> str:
    short = {"numeric_mismatch": "values", "value_mismatch": "values",
             "shape_mismatch": "shape", "dtype_mismatch": "dtype",
             "nonfinite_mismatch": "nonfinite"}.get(group.category, group.category)
    text = f"hunt-{party_of(group.stage)}-{group.kind}-{short}-{group.key[:6]}"
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")


def own_exception(message: str) -> re.Match | None:
    """The exception the framework raised, named in the message's first line: the last one
    named there (``onnxoptimizer raised ConversionError: RuntimeError: ...`` is a
    RuntimeError, which a standalone script, without parity's wrapper, prints)."""
    first = message.splitlines()[0] if message else ""
    found = list(re.finditer(r"\b(\w+(?:Error|Exception|Failure)):", first))
    return found[-1] if found else EXCEPTION.search(first)


def message_pattern(group: Group) -> str | None:
    """For an exception: a regular expression over its message that the entry can keep (the
    exception's class and its words up to the first number or name that varies)."""
    if group.category in triage.COMPARISONS:
        return None
    found = own_exception(group.message)
    if found is None:
        return None
    own = group.message[found.start(1):].splitlines()[0]
    stem = re.split(r"[0-9'\"\[(]", own, maxsplit=1)[0].strip()[:80]
    chosen = stem if len(stem) > len(found.group(1)) + 2 else found.group(1)
    return re.escape(chosen).replace("\\ ", " ")  # a space needs no escape


# -- TOML --------------------------------------------------------------------------------------

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def toml_value(value: Any) -> str:
    """A value as TOML: inline tables and arrays, JSON's string escapes (valid TOML)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}"
                                for k, v in value.items()) + " }" if value else "{}"
    raise TypeError(f"{type(value).__name__} {value!r} has no TOML form")


def toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key)


def minimal_table(spec: LayerSpec) -> dict[str, Any]:
    """The spec as the known-issue files write a minimal: its JSON without the schema."""
    data = spec.to_json()
    data.pop("schema", None)
    order = ["kind", "source", "attrs", "input_shapes", "dtype", "seed"]
    return {**{k: data[k] for k in order if k in data},
            **{k: v for k, v in data.items() if k not in order}}


def draft_text(group: Group, spec: LayerSpec, verdict: dict[str, Any],
               related: list[str]) -> str:
    party, nature = party_of(group.stage), nature_of(group)
    url = upstream.TRACKERS.get(party, "https://github.com/")
    legs = f"*>{group.stage}" if group.stage in ONNX_STAGES else sorted(group.legs)
    first = triage.normalised(group.message) or group.category
    reason = (f"DRAFT by parity hunt, to be rewritten by its reviewer: {group.stage} on "
              f"{group.source} {group.kind}: {group.category} ({first}). Seen on "
              f"{len(group.cases)} drawn case(s), legs {', '.join(sorted(group.legs))}. "
              f"Say what goes wrong and why it is a bug (the op's spec, the layer's documented "
              f"behaviour); no upstream report searched yet.")
    entry: dict[str, Any] = {"id": draft_id(group), "nature": nature, "party": party,
                             "url": url, "reason": reason, "legs": legs, "kind": group.kind,
                             "category": group.category}
    pattern = message_pattern(group)
    if pattern:
        entry["message"] = pattern
    lines = [f"# parity hunt draft, group {group.key}: review before adding it to "
             f"harness/known_issues.d/ (docs/hunt.md)",
             f"# nature {nature}: {NATURES[nature]}",
             f"# script: {verdict['line']}",
             f"# upstream search: not searched (no offline copy of {url}); search it for "
             f"{group.kind} {group.category.replace('_', ' ')}",
             *([f"# known entries of the same kind and party: {', '.join(related)}"]
               if related else ["# no known entry of the same kind and party"]),
             f"# shrunk from case {LayerSpec.from_json(group.first_spec).case_id}"
             f" ({len(group.shrink.get('steps', []))} steps: "
             f"{'; '.join(group.shrink.get('steps', [])) or 'none taken'})",
             "[[issue]]"]
    for key, value in entry.items():
        if key == "reason":
            lines.append(f'reason = """{value}"""')
        else:
            lines.append(f"{toml_key(key)} = {toml_value(value)}")
    try:
        lines.append(f"minimal = [\n  {toml_value(minimal_table(spec))},\n]")
    except TypeError:  # a null (an input left at the case's dtype): TOML has none
        lines.append("# minimal: the spec holds a null, which TOML cannot write; give that "
                     "input its own value (an int_inputs bound, an input_dtypes entry):")
        lines.append(f"# {json.dumps(minimal_table(spec))}")
    return "\n".join(lines) + "\n"


def related_entries(group: Group) -> list[str]:
    party = party_of(group.stage)
    return [issue.id for issue in known_issues.load()
            if group.kind in issue.kinds and party in issue.parties]


# -- the script and its verdict ----------------------------------------------------------------

def script_text(harness, case, leg, group: Group, plugins: list[str]) -> str:
    text = write_script(harness, case, leg_name=leg.leg, plugins=plugins)
    family = "comparison" if leg.category in triage.COMPARISONS else "exception"
    found = own_exception(leg.message or "")
    pattern = re.escape(found.group(1)) if family == "exception" and found else None
    party = party_of(group.stage)
    labels = upstream._labels(group.stage, party, twin=upstream.TWIN_MARK in text)
    return upstream.with_verdict(text, draft_id(group), family, pattern, *labels)


def run_script(script: Path, timeout: float, stage: str | None = None) -> dict[str, Any]:
    """Runs the script in a fresh interpreter, with this process's path and, for a converter
    installed apart (``ScriptRecipe.runs_with``: onnx2tf), the environment it needs: its
    verdict line and exit code."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p and Path(p).is_dir())
    recipe = getattr(type(get(stage)), "script", None) if stage is not None else None
    if isinstance(recipe, ScriptRecipe) and recipe.runs_with is not None:
        env = recipe.runs_with(env)
    try:
        done = subprocess.run([sys.executable, script.name], cwd=script.parent, env=env,
                              capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"verdict": "TIMEOUT", "exit": None,
                "line": f"did not finish within {timeout:g} s in a fresh process"}
    output = done.stdout + done.stderr
    (script.parent / "repro.out").write_text(f"{output}\n(exit {done.returncode})\n",
                                             encoding="utf-8")
    words = [w for w in ("REPRODUCED", "FIXED", "DIFFERENT", "CANNOT RUN")
             if re.search(rf"^{w}\b", done.stdout, re.MULTILINE)]
    verdict = words[0] if words else "NO VERDICT"
    return {"verdict": verdict, "exit": done.returncode,
            "line": f"{script.parent.name}/repro.py: {verdict} (exit {done.returncode}) "
                    f"in a fresh process"}


def write(folder: Path, group: Group, paths: str, plugins: list[str],
          timeout: float = SCRIPT_TIMEOUT, device: str = "cpu",
          policy: Path | None = None) -> dict[str, Any]:
    """Writes the group's draft under ``folder/drafts/<id>/``; returns its summary."""
    spec = LayerSpec.from_json(group.minimal_spec or group.first_spec)
    out = folder / DRAFTS / draft_id(group)
    out.mkdir(parents=True, exist_ok=True)
    harness = Harness(paths, device=device,
                      policy=TolerancePolicy.from_pyproject(policy) if policy else None)
    case = harness.run(spec)
    leg = next((legs[0] for sig, legs in triage.findings(case) if sig["key"] == group.key), None)
    verdict: dict[str, Any]
    if leg is None:
        verdict = {"verdict": "NOT REPRODUCED", "exit": None,
                   "line": "the minimal case does not fail in this group when run again "
                           "in-process (a flaky failure, or one of the worker's state)"}
    else:
        try:
            text = script_text(harness, case, leg, group, plugins)
        except ScriptError as exc:
            verdict = {"verdict": "NO SCRIPT", "exit": None, "line": f"none: {exc}"}
        else:
            script = out / "repro.py"
            script.write_text(text, encoding="utf-8")
            verdict = run_script(script, timeout, leg.stage)
    (out / "draft.toml").write_text(draft_text(group, spec, verdict, related_entries(group)),
                                    encoding="utf-8")
    return {"id": draft_id(group), "folder": str(out), "toml": str(out / "draft.toml"),
            "script": str(out / "repro.py") if (out / "repro.py").is_file() else None,
            "party": party_of(group.stage), "nature": nature_of(group), **verdict}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.hunt.drafts")
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--paths", required=True)
    parser.add_argument("--plugins", default="")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--policy", type=Path, default=None,
                        help="the file whose [tool.parity.tolerance] judges the case")
    parser.add_argument("--script-timeout", type=float, default=SCRIPT_TIMEOUT)
    args = parser.parse_args(argv)
    prepare_imports()
    plugins = [m for m in args.plugins.split(",") if m]
    import_modules(plugins)
    data = json.loads((args.state / STATE_FILE).read_text(encoding="utf-8"))
    group = Group(**data["groups"][args.group])
    summary = write(args.state, group, args.paths, plugins, args.script_timeout, args.device,
                    args.policy)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
