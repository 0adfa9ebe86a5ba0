"""parity: conformance suites and numerical parity checks for model converters."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

from harness import __version__, converters, golden, sources, upstream
from harness.check.cli import add_check_command, no_verdict_json
from harness.converters import PathError, onnx2tf_install
from harness.core import axes, exits, known_issues, registry
from harness.core.errors import GoldenError
from harness.core.frameworks import prepare_imports
from harness.core.plugins import PluginImportError, import_modules
from harness.core.spec import LayerSpec, SpecError
from harness.core.tolerance import PolicyError
from harness.gate.command import add_gate_command
from harness.gate.config import project_policy
from harness.golden import CASES, artifact
from harness.golden.update import CORPUS, corpus, update
from harness.hunt.command import add_hunt_command
from harness.mat.cli import add_commands as add_mat_commands
from harness.report.cli import add_commands as add_report_commands
from harness.report.coverage import reach as measured_reach
from harness.report.coverage import reach_text
from harness.repro_script import ScriptError, choose_target, write_script
from harness.run import side_paths
from harness.run.pipeline import Harness
from harness.run.stage_cache.cli import add_cache_command as add_cache_commands
from harness.sources.onnx.op import undrawn
from harness.suite_reports import attribute_domains
from harness.upstream import NATURES, Exporter


def _domain_text(values) -> str:
    return ", ".join("None" if v is None else str(v) for v in values)


def _listed_sources(choice: str) -> list[str]:

    return [name for name in sources.available() if name != "file"] if choice == "all" \
        else [choice]


def cmd_stages(args: argparse.Namespace) -> int:
    """Every registered stage: built in, from an entry point or registered in this process."""
    rows = []
    for name in converters.available():
        try:
            converter = converters.get(name)
        except Exception as exc:  # noqa: BLE001  (a plugin that cannot load: listed as such)
            rows.append({"stage": name, "error": f"{type(exc).__name__}: {exc}"})
            continue
        rows.append({"stage": name, "takes": converter.source, "makes": converter.target,
                     "packages": list(converter.packages)})
    if args.json:
        json.dump(rows, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    width = max(len(row["stage"]) for row in rows)
    for row in rows:
        what = (f"cannot load: {row['error']}" if "error" in row else
                f"{row['takes']} -> {row['makes']}  ({', '.join(row['packages'])})")
        print(f"{row['stage']:<{width}}  {what}")
    return 0


def cmd_install(args: argparse.Namespace) -> int:
    """Installs a converter that cannot share the pinned stack into a folder of its own."""
    folder = Path(args.target) if args.target else onnx2tf_install.home()
    if args.check:
        try:
            onnx2tf_install.require(folder)
        except onnx2tf_install.Onnx2TfNotInstalled as exc:
            print(exc, file=sys.stderr)
            return 1
        print(f"onnx2tf {onnx2tf_install.version(folder)} is installed in {folder}")
        return 0
    try:
        onnx2tf_install.install(folder)
    except (subprocess.CalledProcessError, OSError, RuntimeError) as exc:
        print(f"parity install onnx2tf: {folder}: {exc}", file=sys.stderr)
        return 1
    print(f"installed onnx2tf {onnx2tf_install.version(folder)} ({', '.join(onnx2tf_install.PINS)}) "
          f"into {folder}, beside the pinned stack; the onnx2tf stages run it in a worker "
          f"process")
    return 0


def cmd_layers(args: argparse.Namespace) -> int:

    try:
        listed = {name: registry.kinds(name) for name in _listed_sources(args.source)}
    except (sources.UnknownSource, ImportError) as exc:
        print(f"parity layers: {exc}", file=sys.stderr)
        return 2

    reach = measured_reach()
    if args.json:
        payload = [
            {
                **({} if source == registry.KERAS else {"source": source}),
                "kind": k.name,
                "family": k.family,
                "attributes": k.attribute_domains,
                "inputs": {a: list(v) for a, v in k.domains.items()
                           if a in registry.INPUT_KNOBS or a in k.knobs},
                **({"undrawn": undrawn} if (undrawn := _undrawn(k)) else {}),
                "axes": {"dtypes": list(axes.admitted(k).dtypes),
                         "free_dims": list(axes.admitted(k).free_dims)},
                **({"reach": pairs} if (pairs := _kind_reach(reach, source, k.name)) else {}),
            }
            for source, kinds in listed.items() for k in kinds
        ]
        json.dump(payload, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
        return 0
    for source, kinds in listed.items():
        if len(listed) > 1:
            print(f"\n== {source} ==")
        family = None
        for k in kinds:
            if k.family != family:
                family = k.family
                print(f"\n[{family}]")
            print(f"  {k.name}")
            width = max(len(a) for a in (*k.domains, "(axes)"))
            if (admitted := axes.admitted(k)).names:
                print(f"    {'(axes)':<{width}}  {admitted.describe()}")
            for attr, values in k.domains.items():
                role = "  (input)" if attr in registry.INPUT_KNOBS | k.knobs else ""
                print(f"    {attr:<{width}}  {_domain_text(values)}{role}")
            if undrawn := _undrawn(k):
                print(f"    {'(at default)':<{width}}  {', '.join(undrawn)}")
            if pairs := _kind_reach(reach, source, k.name):
                ci = (f"{pairs['ci_cover']}/{pairs['admitted']} with the ci profile's "
                      f"covering cases, " if "ci_cover" in pairs else "")
                print(f"    {'(reach)':<{width}}  (attribute value, axis) pairs: "
                      f"{pairs['corpus']}/{pairs['admitted']} by the ci corpus, {ci}"
                      f"{pairs['with_cover']}/{pairs['admitted']} with its covering cases")
        whole = [k for k in kinds if k.tags & registry.WHOLE_MODELS]
        if source == registry.KERAS:
            print(f"\n{len(kinds) - len(whole)} layer and model kinds (each in the golden store "
                  f"and the ci profile), {len(whole)} applications (suites/applications; slow)")
        else:
            families = len({k.family for k in kinds})
            print(f"\n{len(kinds)} {source} kinds in {families} families")
        if source in reach:
            print(reach_text(reach[source]))
    return 0


def _kind_reach(reach, source: str, kind: str) -> dict[str, int] | None:
    """A kind's (attribute value, axis) pairs: admitted, reached by the ci corpus and with
    its covering cases (harness.tools.draw_cover)."""
    return reach.get(source, {}).get("per_kind", {}).get(kind)


def _undrawn(kind) -> list[str]:
    """Attributes of an ONNX op's schema that the kind leaves at their defaults."""
    if kind.source != "onnx":
        return []

    return undrawn(kind)


def _find_spec(case_id: str, sources: list[Path]):
    """The case's spec and its first result record, with ``paths`` added: every conversion
    path the case ran in that run (its legs' records), so that a repro runs them all."""

    found = None
    paths: list[str] = []
    for source in sources:
        if not source.is_file():
            continue
        with open(source, encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                if case_id not in line:
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    print(f"parity: {source}:{number}: skipping a malformed line", file=sys.stderr)
                    continue
                if record.get("case_id") != case_id or "spec" not in record:
                    continue
                if found is None:
                    found = record
                if record.get("run_id") == found.get("run_id") and record.get("path") \
                        and record["path"] not in paths:
                    paths.append(record["path"])
        if found is not None:
            return LayerSpec.from_json(found["spec"]), {**found, "paths": paths}
    return None, None


PLUGINS_OPTION = "--parity-plugins"
# The category of a source's refusal on this machine (a skip that says why; taxonomy).
SOURCE_REFUSAL = "source_refusal"
REPRO_EXIT_CODES = ("exit status: 0 every leg passes (or fails as a known issue says), 1 a leg "
                    "fails, 2 the case or a plugin cannot be found, 3 this machine cannot run "
                    "it (a framework missing, the source refusing it here), 4 internal error")


def plugins_in_command(command: str | None) -> list[str]:
    """The ``--parity-plugins`` modules of a recorded pytest command line (the last one given
    wins, as in pytest); none when it names none or cannot be read."""
    try:
        words = shlex.split(command or "")
    except ValueError:
        return []
    found = None
    for number, word in enumerate(words):
        if word == PLUGINS_OPTION and number + 1 < len(words):
            found = words[number + 1]
        elif word.startswith(PLUGINS_OPTION + "="):
            found = word.partition("=")[2]
    return [m.strip() for m in (found or "").split(",") if m.strip()]


def _recorded_command(sources: list[Path], run_id: str | None) -> str | None:
    """The command of the run record of ``run_id`` (every shard of a run records the same)."""
    if not run_id:
        return None
    for source in sources:
        if not source.is_file():
            continue
        with open(source, encoding="utf-8") as fh:
            for line in fh:
                if run_id not in line or '"run"' not in line:
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if record.get("record") == "run" and record.get("run_id") == run_id:
                    return record.get("command")
    return None


def load_plugins(modules: list[str]) -> str | None:
    """Imports the plugin modules (which register converters), as ``--parity-plugins`` does
    in a pytest run. Returns why one cannot be imported, or None."""
    try:
        import_modules(modules)
    except PluginImportError as exc:
        return str(exc)
    return None


def _find_golden_spec(case_id: str, root: Path):

    path = root / golden.CASES / case_id / "spec.json"
    if not path.is_file():
        return None, None
    try:
        return LayerSpec.from_json(json.loads(path.read_text())), {}
    except (json.JSONDecodeError, SpecError) as exc:
        print(f"parity: {path}: {exc}", file=sys.stderr)
        return None, None


def cmd_repro(args: argparse.Namespace) -> int:

    sources = [Path(p) for p in args.results] or [Path("reports/results.jsonl")]
    spec, record = _find_spec(args.case_id, sources)
    if spec is None:
        spec, record = _find_golden_spec(args.case_id, args.golden)
    if spec is None:
        print(f"parity: case {args.case_id} is in none of {', '.join(map(str, sources))} "
              f"nor in the golden store {args.golden}", file=sys.stderr)
        return 2
    prepare_imports()

    if args.plugins is not None:
        plugins, origin = [m.strip() for m in args.plugins.split(",") if m.strip()], "--plugins"
    else:
        plugins = plugins_in_command(_recorded_command(sources, record.get("run_id")))
        origin = f"the {PLUGINS_OPTION} of the run's recorded command"
    if plugins:
        print(f"plugins: {', '.join(plugins)} (from {origin})")
        problem = load_plugins(plugins)
        if problem:
            print(f"parity: {problem} (from {origin}); make it importable (PYTHONPATH, or run "
                  f"from the directory the run ran in) or name others with --plugins",
                  file=sys.stderr)
            return 2
    paths = args.paths or ",".join(record.get("paths") or []) or None
    # The tolerance policy a suite run applies (pyproject.toml's [tool.parity.tolerance], or
    # parity's own where the project declares none, as parity gate applies it).
    policy = project_policy()
    try:
        harness = Harness(paths, device=args.device, opset=args.opset, policy=policy)
    except PathError as exc:
        print(f"parity: {exc}; a converter registered by a plugin module needs that module: "
              f"--plugins MODULE[,MODULE]", file=sys.stderr)
        return 2
    print(f"case {spec.case_id}: {spec.describe()}")
    case = harness.run(spec)
    for leg in case.legs:
        metrics = leg.metrics or {}
        detail = (f"max_abs={metrics.get('max_abs', float('nan')):.6g} "
                  f"max_rel={metrics.get('max_rel', float('nan')):.6g} "
                  f"mismatch={metrics.get('mismatch_fraction', 0):.1%}") if metrics else ""
        print(f"  {leg.verdict:<5} {leg.leg:<40} {leg.category or '':<18} {detail}")
        if leg.verdict in ("fail", "error") and args.verbose:
            print("    " + leg.message.replace("\n", "\n    "))
    refused = [leg for leg in case.legs if leg.category == SOURCE_REFUSAL]
    if refused and len(refused) == len(case.legs):  # no verdict: not 0, and never 1
        said = (refused[0].message or "").splitlines()
        print(f"parity repro: cannot run here: {said[0] if said else 'the source refuses it'}",
              file=sys.stderr)
        return exits.CANNOT_RUN_HERE
    if args.script is not None:

        try:
            text = write_script(harness, case, leg_name=args.leg,
                                max_bytes=int(args.max_inline_mb * 2**20),
                                golden_folder=args.golden / CASES / spec.case_id,
                                plugins=plugins)
        except ScriptError as exc:
            print(f"parity: no script written: {exc}", file=sys.stderr)
            return 2
        args.script.write_text(text, encoding="utf-8")
        target = choose_target(harness, case, args.leg)
        print(f"wrote {args.script}: a standalone reproducer of leg {target.leg_name} "
              f"(stage {target.stage}); run it with: python {args.script}")
    return 1 if case.failures else 0


def cmd_golden_verify(args: argparse.Namespace) -> int:

    recovered = golden.recover(args.root)
    if recovered:
        print(f"parity: {recovered}")
    store, problems = golden.verify(args.root, deep=not args.quick)
    for problem in problems:
        print(f"{args.root}/{problem.file}: {problem.message}")
    if store is not None:
        bad = {p.case_id for p in problems}
        print(f"{len(store.cases)} cases, {len(store.cases) - len(bad)} verified, "
              f"{len(problems)} problems")
    return 1 if problems else 0


def cmd_golden_list(args: argparse.Namespace) -> int:

    golden.recover(args.root)
    try:
        store = golden.read_manifest(args.root)
    except golden.GoldenError as exc:
        print(f"parity: {exc}", file=sys.stderr)
        return 2
    by_kind: dict[str, int] = {}
    for case_id in sorted(store.cases):
        try:
            spec = json.loads((args.root / golden.CASES / case_id / "spec.json").read_text())
            kind = spec.get("kind", "?")
        except (OSError, json.JSONDecodeError):
            kind = "<unreadable spec.json>"
        by_kind[kind] = by_kind.get(kind, 0) + 1
        if args.verbose:
            print(f"{case_id}  {kind}")
    for kind, count in sorted(by_kind.items()):
        print(f"{count:5d}  {kind}")
    print(f"{len(store.cases)} cases, {len(by_kind)} kinds")
    return 0


def cmd_golden_pack(args: argparse.Namespace) -> int:
    golden.recover(args.root)
    digest = artifact.pack(args.root, args.output)
    found = artifact.identity(args.root)
    print(f"wrote {args.output} ({args.output.stat().st_size / 1e6:.1f} MB, sha256 {digest}) "
          f"and {artifact.checksum_file(args.output)}: {found['cases']} cases, manifest "
          f"sha256 {found['manifest_sha256']}")
    return 0


def cmd_golden_update(args: argparse.Namespace) -> int:

    prepare_imports()

    if args.source not in CORPUS:
        print(f"parity: no source {args.source!r}; the golden store holds "
              f"{', '.join(sorted(CORPUS))}", file=sys.stderr)
        return 2
    per_kind, per_axis = CORPUS[args.source]
    specs = corpus(per_kind if args.per_kind is None else args.per_kind, args.kind or None,
                   source=args.source, per_axis=per_axis if args.per_axis is None
                   else args.per_axis)
    policy = project_policy()

    def progress(number, total, spec):
        if args.verbose:
            print(f"[{number}/{total}] {spec.case_id} {spec.describe()}", flush=True)

    chosen = args.side_paths.strip()
    side = side_paths.ALL if chosen == "all" else tuple(
        p.strip() for p in chosen.split(",") if p.strip())
    unknown = [p for p in side if p not in side_paths.ALL]
    if unknown:
        print(f"parity: --side-paths: {', '.join(unknown)} not among "
              f"{', '.join(side_paths.ALL)}", file=sys.stderr)
        return 2
    summary = update(args.root, specs, accept_changes=args.accept_changes, policy=policy,
                     progress=progress, kinds=args.kind or None, scope={args.source},
                     side_paths=side)
    for line in summary.lines():
        print(line)
    if summary.changed and not summary.written:
        print("parity: expected outputs changed; the store was left as it was. Review the "
              "metrics above and re-run with --accept-changes to take them.")
        return 1
    print(f"wrote {args.root}")
    return 0


def _chosen_issues(args: argparse.Namespace):
    """The known-issue entries named, or with --all those of the kind and party asked for;
    a problem as one line."""

    try:
        issues = known_issues.load()
    except known_issues.KnownIssueFileError as exc:
        return None, str(exc)
    if getattr(args, "all", True) or not getattr(args, "ids", None):
        return upstream.select(issues, args.kind, args.party), None
    by_id = {issue.id: issue for issue in issues}
    unknown = [i for i in args.ids if i not in by_id]
    if unknown:
        return None, (f"no known issue {', '.join(map(repr, unknown))}; "
                      f"`parity issues list` names them")
    return [by_id[i] for i in args.ids], None


def cmd_issues_list(args: argparse.Namespace) -> int:

    chosen, problem = _chosen_issues(args)
    if problem:
        print(f"parity issues list: {problem}", file=sys.stderr)
        return 2
    for issue in chosen:
        nature, party = upstream.classify(issue)
        state = "reported" if upstream.reported(issue.url, issue.reason) else "new"
        print(f"{issue.id:<55} {nature:<13} {party:<13} {state}")
    print(f"{len(chosen)} entries")
    return 0


def cmd_issues_export(args: argparse.Namespace) -> int:
    if not args.all and not args.ids:
        print("parity issues export: name an entry's id, or --all", file=sys.stderr)
        return 2
    if args.all and args.ids:
        print("parity issues export: name ids or --all, not both", file=sys.stderr)
        return 2
    chosen, problem = _chosen_issues(args)
    if problem:
        print(f"parity issues export: {problem}", file=sys.stderr)
        return 2

    prepare_imports()

    exporter = Exporter(project_policy())
    without, failed, worst = 0, 0, 0
    for issue in chosen:
        try:
            report, folder = exporter.export(issue, args.output)
        except FILE_MISTAKES:
            raise  # the output folder: the same for every entry
        except Exception as exc:  # noqa: BLE001  (one entry's failure does not stop the rest)
            if os.environ.get(exits.DEBUG_VARIABLE):
                raise
            failed += 1
            code, line = exits.escaped(f"parity issues export: {issue.id}: no report", exc,
                                       f"parity issues export {issue.id} -o {args.output}")
            worst = max(worst, code)
            print(line, file=sys.stderr)
            continue
        scripts = ", ".join(s.name for s in report.scripts)
        print(f"{folder}: {report.title}")
        if report.why_no_script:
            without += 1
            print(f"  no script{' for some specs' if scripts else ''}: {report.why_no_script}")
    print(f"wrote {len(chosen) - failed} reports under {args.output} ({without} without a "
          f"standalone script); run a folder's repro.py to see REPRODUCED (exit 1), FIXED "
          f"(exit 0), DIFFERENT (exit 2) or CANNOT RUN (exit 3)")
    return worst  # 0, or an entry's: a framework missing here (3), parity's own bug (4)


class Parser(argparse.ArgumentParser):
    """parity's parsers take an option by its whole name only: argparse's default reads a
    prefix as the one option it begins (``parity check m.onnx --out DIR`` ran as ``--output
    DIR``, a .mat option, and said so), where pytest's, too, say the option is unknown. The
    subcommands' parsers are of the same class (``add_subparsers`` makes its parser's)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="parity", description=__doc__)
    parser.add_argument("--version", action="version", version=f"parity {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    layers = commands.add_parser("layers", help="list every layer kind and the values drawn")
    layers.add_argument("--json", action="store_true", help="machine-readable output")
    layers.add_argument("--source", default="keras", metavar="NAME",
                        help="the source whose kinds to list: keras (default), onnx, mat, or "
                             "all")
    layers.set_defaults(func=cmd_layers)

    stages = commands.add_parser("stages", help="list every stage (converter): what it takes "
                                                 "and makes, and its packages")
    stages.add_argument("--json", action="store_true", help="machine-readable output")
    stages.set_defaults(func=cmd_stages)

    install = commands.add_parser(
        "install", help="install a converter that pins another stack (onnx2tf) into a folder "
                        "of its own, run in a worker process")
    install.add_argument("converter", choices=["onnx2tf"])
    install.add_argument("--target", default=None, metavar="DIR",
                         help="the folder (default: inside this environment, or "
                              "$PARITY_ONNX2TF_HOME)")
    install.add_argument("--check", action="store_true",
                         help="only say whether it is installed (exit 1 if not)")
    install.set_defaults(func=cmd_install)

    repro = commands.add_parser("repro", help="re-run one case and print the comparison",
                                description="Re-runs one case and prints the comparison; "
                                            f"{REPRO_EXIT_CODES}.")
    repro.add_argument("case_id")
    repro.add_argument("--results", action="append", default=[], metavar="FILE",
                       help="results JSONL to look the case up in (default reports/results.jsonl)")
    repro.add_argument("--golden", type=Path, default=Path("golden"),
                       help="golden store to look the case up in when no results have it")
    repro.add_argument("--paths", default=None, help="conversion paths (default: those the case ran in its recorded run)")
    repro.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    repro.add_argument("--opset", type=int, default=None, help="ONNX opset (default 17)")
    repro.add_argument("--plugins", default=None, metavar="MODULE[,MODULE]",
                       help="modules to import that register converters, as the run's "
                            f"{PLUGINS_OPTION} (default: those of the run's recorded command)")
    repro.add_argument("-v", "--verbose", action="store_true", help="print failure messages")
    repro.add_argument("--script", type=Path, default=None, metavar="OUT.py",
                       help="also write a standalone script (no parity import; a plugin "
                            "stage's script imports its plugin modules and parity's converter "
                            "protocol) that reproduces the failing stage, for a bug report")
    repro.add_argument("--leg", default=None,
                       help="the leg to script (default: the first failing one; the script "
                            "starts at the stage that leg is blamed on)")
    repro.add_argument("--max-inline-mb", type=float, default=2.0, metavar="MB",
                       help="largest model and data a script embeds (default 2)")
    repro.set_defaults(func=cmd_repro)


    issues_parser = commands.add_parser(
        "issues", help="the known issues: list them, export upstream-ready reports")
    issues_commands = issues_parser.add_subparsers(dest="issues_command", required=True)
    listing = issues_commands.add_parser("list", help="every entry with its nature and party")
    export = issues_commands.add_parser(
        "export", help="write a report and a standalone reproducer per entry, for the "
                       "converter's tracker (docs/upstream-reports.md)")
    export.add_argument("ids", nargs="*", metavar="ID", help="known-issue ids")
    export.add_argument("--all", action="store_true",
                        help="every entry (of --kind and --party, when given)")
    export.add_argument("-o", "--output", type=Path, default=Path("reports/upstream"),
                        metavar="DIR", help="a folder per entry is written here "
                                            "(default reports/upstream)")
    for sub in (listing, export):
        sub.add_argument("--kind", choices=NATURES, default=None,
                         help="only entries of this nature")
        sub.add_argument("--party", default=None, metavar="P",
                         help="only entries whose bug is this party's (tf2onnx, onnx2torch, "
                              "onnx2pytorch, onnxruntime, onnx, ...)")
    listing.set_defaults(func=cmd_issues_list)
    export.set_defaults(func=cmd_issues_export)

    golden_parser = commands.add_parser("golden", help="the golden store: verify, update, list")
    golden_commands = golden_parser.add_subparsers(dest="golden_command", required=True)
    for name, func, text in (
        ("verify", cmd_golden_verify, "check the manifest and that every file is intact"),
        ("update", cmd_golden_update, "regenerate the store from the source framework"),
        ("list", cmd_golden_list, "the stored cases by layer kind"),
        ("pack", cmd_golden_pack, "write the store to one .tar.gz, its SHA-256 beside it, "
                                  "for parity gate --golden (docs/gate.md)"),
    ):
        sub = golden_commands.add_parser(name, help=text)
        sub.add_argument("--root", type=Path, default=Path("golden"), help="the store (golden/)")
        sub.add_argument("-v", "--verbose", action="store_true")
        sub.set_defaults(func=func)
        if name == "pack":
            sub.add_argument("-o", "--output", type=Path, required=True, metavar="STORE.tar.gz",
                             help="the archive to write (and STORE.tar.gz.sha256)")
        if name == "verify":
            sub.add_argument("--quick", action="store_true",
                             help="checksums only; do not load every tensor and model")
        if name == "update":
            sub.add_argument("--per-kind", type=int, default=None,
                             help="cases per layer kind (default: the store's, 8 per Keras "
                                  "kind, 3 per ONNX op, 2 per MATLAB layer)")
            sub.add_argument("--per-axis", type=int, default=None,
                             help="further cases per kind along each axis it admits (its other "
                                  "dtypes, free dimensions; default: the store's, 1, none for "
                                  "MATLAB); see parity layers")
            sub.add_argument("--kind", action="append", default=[],
                             help="regenerate only these kinds (repeatable); the store's "
                                  "cases of other kinds are kept as they are")
            sub.add_argument("--accept-changes", action="store_true",
                             help="take changed expected outputs instead of stopping")
            sub.add_argument("--source", default="keras", metavar="NAME",
                             help="the source whose cases to regenerate (keras, onnx, mat); "
                                  "the store's cases of other sources are kept as they are")
            sub.add_argument("--side-paths", default="", metavar="PATHS",
                             help="record the regenerated cases down these side paths too "
                                  "('all', or a comma-separated list of onnx>onnxsim, "
                                  "onnx>onnxslim, onnx>onnxoptimizer, keras>tflite, "
                                  "keras>savedmodel>tflite-savedmodel), which the replay then "
                                  "runs; a case keeps those it held (docs/golden.md)")


    add_report_commands(commands, domains=attribute_domains)
    add_check_command(commands)
    add_gate_command(commands)
    add_cache_commands(commands)
    add_mat_commands(commands)
    add_hunt_command(commands)
    return parser


# A user's mistakes a command may meet anywhere (a file named that is not there, a bad
# pyproject.toml, a spec or store that cannot be read): one line and exit 2, never a traceback.
FILE_MISTAKES = (FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError,
                 PermissionError)
USER_MISTAKES = (*FILE_MISTAKES, PolicyError, SpecError, GoldenError,
                 known_issues.KnownIssueFileError, PathError, PluginImportError)
USAGE = 2  # every command's code for a usage error or an input it refuses (argparse's too)


def _mistake(exc: Exception) -> str:
    if isinstance(exc, FILE_MISTAKES) and exc.filename is not None:
        return f"{exc.strerror or type(exc).__name__}: {exc.filename}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    """Runs one command; no exception leaves it, since Python's exit code for one is 1, a
    verdict here (a leg that fails, a failure that reproduces): a user's mistake exits 2, a
    framework missing on this machine 3, parity's own bug 4 (harness.core.exits)."""
    parser = build_parser()
    words = sys.argv[1:] if argv is None else argv
    said = io.StringIO()
    try:
        with contextlib.redirect_stderr(said):
            args = parser.parse_args(argv)
    except SystemExit as exc:
        sys.stderr.write(said.getvalue())
        if exc.code == USAGE and words[:1] == ["check"] and "--json" in words:
            line = (said.getvalue().strip().splitlines() or ["parity check: invalid options"])[-1]
            json.dump(no_verdict_json(None, USAGE, line), sys.stdout, indent=2)
            sys.stdout.write("\n")
        raise
    sys.stderr.write(said.getvalue())
    sub = getattr(args, f"{args.command}_command", None)  # issues export, golden verify, ...
    prog = " ".join(["parity", args.command, *([sub] if isinstance(sub, str) else [])])
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return exits.INTERRUPTED
    except USER_MISTAKES as exc:
        print(f"{prog}: {_mistake(exc)}", file=sys.stderr)
        return USAGE
    except Exception as exc:
        if os.environ.get(exits.DEBUG_VARIABLE):
            raise
        command = " ".join(shlex.quote(word) for word in ["parity", *words])
        code, line = exits.escaped(prog, exc, command)
        print(line, file=sys.stderr)
        return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
