"""The ``parity`` command."""

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


def cmd_repro(args: argparse.Namespace) -> int:
    from harness.frameworks import prepare_imports

    sources = [Path(p) for p in args.results] or [Path("reports/results.jsonl")]
    spec, record = _find_spec(args.case_id, sources)
    if spec is None:
        print(f"parity: case {args.case_id} is in none of {', '.join(map(str, sources))}",
              file=sys.stderr)
        return 2
    prepare_imports()
    from harness.pipeline import Harness

    paths = args.paths or record.get("path")
    harness = Harness(paths, device=args.device)
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
    return 1 if case.failures else 0


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
    repro.add_argument("--paths", default=None, help="conversion paths (default: the recorded one)")
    repro.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    repro.add_argument("-v", "--verbose", action="store_true", help="print failure messages")
    repro.set_defaults(func=cmd_repro)

    for module in ("harness.report.cli", "harness.mat.cli"):
        try:
            __import__(module, fromlist=["add_commands"]).add_commands(commands)
        except ImportError as exc:  # an optional part whose dependencies are missing
            print(f"parity: {module} unavailable: {exc}", file=sys.stderr)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
