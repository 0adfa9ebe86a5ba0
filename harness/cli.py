"""parity: conformance suites and numerical parity checks for model converters."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from harness import __version__


def _domain_text(values) -> str:
    return ", ".join("None" if v is None else str(v) for v in values)


def cmd_layers(args: argparse.Namespace) -> int:
    from harness import registry

    kinds = registry.kinds()
    if args.json:
        payload = [
            {
                "kind": k.name,
                "family": k.family,
                "attributes": k.attribute_domains,
                "inputs": {a: list(v) for a, v in k.domains.items() if a in registry.INPUT_KNOBS},
            }
            for k in kinds
        ]
        json.dump(payload, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
        return 0
    family = None
    for k in kinds:
        if k.family != family:
            family = k.family
            print(f"\n[{family}]")
        print(f"  {k.name}")
        width = max(len(a) for a in k.domains)
        for attr, values in k.domains.items():
            role = "  (input)" if attr in registry.INPUT_KNOBS else ""
            print(f"    {attr:<{width}}  {_domain_text(values)}{role}")
    print(f"\n{len(kinds)} layer kinds")
    return 0


def _find_spec(case_id: str, sources: list[Path]):
    from harness.spec import LayerSpec

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
                if record.get("case_id") == case_id and "spec" in record:
                    return LayerSpec.from_json(record["spec"]), record
    return None, None


def _find_golden_spec(case_id: str, root: Path):
    from harness import golden
    from harness.spec import LayerSpec, SpecError

    path = root / golden.CASES / case_id / "spec.json"
    if not path.is_file():
        return None, None
    try:
        return LayerSpec.from_json(json.loads(path.read_text())), {}
    except (json.JSONDecodeError, SpecError) as exc:
        print(f"parity: {path}: {exc}", file=sys.stderr)
        return None, None


def cmd_repro(args: argparse.Namespace) -> int:
    from harness.frameworks import prepare_imports

    sources = [Path(p) for p in args.results] or [Path("reports/results.jsonl")]
    spec, record = _find_spec(args.case_id, sources)
    if spec is None:
        spec, record = _find_golden_spec(args.case_id, args.golden)
    if spec is None:
        print(f"parity: case {args.case_id} is in none of {', '.join(map(str, sources))} "
              f"nor in the golden store {args.golden}", file=sys.stderr)
        return 2
    prepare_imports()
    from harness.pipeline import Harness
    from harness.tolerance import TolerancePolicy

    paths = args.paths or record.get("path")
    # The tolerance policy a suite run applies (pyproject.toml's [tool.parity.tolerance]).
    policy = TolerancePolicy.from_pyproject(Path("pyproject.toml"))
    harness = Harness(paths, device=args.device, opset=args.opset, policy=policy)
    print(f"case {spec.case_id}: {spec.describe()}")
    case = harness.run(spec)
    for leg in case.legs:
        metrics = leg.metrics or {}
        detail = (f"max_abs={metrics.get('max_abs', float('nan')):.3g} "
                  f"max_rel={metrics.get('max_rel', float('nan')):.3g} "
                  f"mismatch={metrics.get('mismatch_fraction', 0):.1%}") if metrics else ""
        print(f"  {leg.verdict:<5} {leg.leg:<40} {leg.category or '':<18} {detail}")
        if leg.verdict in ("fail", "error") and args.verbose:
            print("    " + leg.message.replace("\n", "\n    "))
    if args.script is not None:
        from harness.golden import CASES
        from harness.repro_script import ScriptError, choose_target, write_script

        try:
            text = write_script(harness, case, leg_name=args.leg,
                                max_bytes=int(args.max_inline_mb * 2**20),
                                golden_folder=args.golden / CASES / spec.case_id)
        except ScriptError as exc:
            print(f"parity: no script written: {exc}", file=sys.stderr)
            return 2
        args.script.write_text(text, encoding="utf-8")
        target = choose_target(harness, case, args.leg)
        print(f"wrote {args.script}: a standalone reproducer of leg {target.leg_name} "
              f"(stage {target.stage}); run it with: python {args.script}")
    return 1 if case.failures else 0


def cmd_golden_verify(args: argparse.Namespace) -> int:
    from harness import golden

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
    from harness import golden

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


def cmd_golden_update(args: argparse.Namespace) -> int:
    from harness.frameworks import prepare_imports

    prepare_imports()
    from harness.golden_update import corpus, update
    from harness.tolerance import TolerancePolicy

    specs = corpus(args.per_kind, args.kind or None)
    policy = TolerancePolicy.from_pyproject(Path("pyproject.toml"))

    def progress(number, total, spec):
        if args.verbose:
            print(f"[{number}/{total}] {spec.case_id} {spec.describe()}", flush=True)

    summary = update(args.root, specs, accept_changes=args.accept_changes, policy=policy,
                     progress=progress)
    for line in summary.lines():
        print(line)
    if summary.changed and not summary.written:
        print("parity: expected outputs changed; the store was left as it was. Review the "
              "metrics above and re-run with --accept-changes to take them.")
        return 1
    print(f"wrote {args.root}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="parity", description=__doc__)
    parser.add_argument("--version", action="version", version=f"parity {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    layers = commands.add_parser("layers", help="list every layer kind and the values drawn")
    layers.add_argument("--json", action="store_true", help="machine-readable output")
    layers.set_defaults(func=cmd_layers)

    repro = commands.add_parser("repro", help="re-run one case and print the comparison")
    repro.add_argument("case_id")
    repro.add_argument("--results", action="append", default=[], metavar="FILE",
                       help="results JSONL to look the case up in (default reports/results.jsonl)")
    repro.add_argument("--golden", type=Path, default=Path("golden"),
                       help="golden store to look the case up in when no results have it")
    repro.add_argument("--paths", default=None, help="conversion paths (default: the recorded one)")
    repro.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    repro.add_argument("--opset", type=int, default=None, help="ONNX opset (default 17)")
    repro.add_argument("-v", "--verbose", action="store_true", help="print failure messages")
    repro.add_argument("--script", type=Path, default=None, metavar="OUT.py",
                       help="also write a standalone script (no parity import) that reproduces "
                            "the failing stage, for a converter's bug report")
    repro.add_argument("--leg", default=None,
                       help="the leg to script (default: the first failing one; the script "
                            "starts at the stage that leg is blamed on)")
    repro.add_argument("--max-inline-mb", type=float, default=2.0, metavar="MB",
                       help="largest model and data a script embeds (default 2)")
    repro.set_defaults(func=cmd_repro)

    golden_parser = commands.add_parser("golden", help="the golden store: verify, update, list")
    golden_commands = golden_parser.add_subparsers(dest="golden_command", required=True)
    for name, func, text in (
        ("verify", cmd_golden_verify, "check the manifest and that every file is intact"),
        ("update", cmd_golden_update, "regenerate the store from the source framework"),
        ("list", cmd_golden_list, "the stored cases by layer kind"),
    ):
        sub = golden_commands.add_parser(name, help=text)
        sub.add_argument("--root", type=Path, default=Path("golden"), help="the store (golden/)")
        sub.add_argument("-v", "--verbose", action="store_true")
        sub.set_defaults(func=func)
        if name == "verify":
            sub.add_argument("--quick", action="store_true",
                             help="checksums only; do not load every tensor and model")
        if name == "update":
            sub.add_argument("--per-kind", type=int, default=8, help="cases per layer kind")
            sub.add_argument("--kind", action="append", default=[],
                             help="only these kinds (repeatable)")
            sub.add_argument("--accept-changes", action="store_true",
                             help="take changed expected outputs instead of stopping")

    from harness.report.cli import add_commands as add_report_commands

    add_report_commands(commands, domains=_attribute_domains)
    try:
        from harness.mat.cli import add_commands as add_mat_commands
    except ImportError as exc:  # scipy/h5py/torch missing: the .mat path is an optional extra
        print(f"parity: the mat commands are unavailable ({exc})", file=sys.stderr)
    else:
        add_mat_commands(commands)
    return parser


def _attribute_domains() -> dict:
    from harness import registry

    return {k.name: k.attribute_domains for k in registry.kinds()}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
