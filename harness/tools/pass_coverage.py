"""Which passes of onnxsim, onnxslim and onnxoptimizer fire on the drawn graphs
(docs/rewriters.md#pass-coverage). Not imported by the harness::

    python -m harness.tools.pass_coverage [N] [--family patterns,graphs] [--kinds K,...]
                                          [--json OUT]

Every kind of the named ONNX families is drawn ``N`` times (``harness.core.strategies.sample``,
derandomised: the ``ci`` profile's kind of draw) and built as the source builds it, forms
included. Then, per rewriter, each pass of its default pipeline is applied on its own and a
pass *fires* on a graph when the graph it writes differs from the graph the same tool writes
with no pass at all (its own re-serialisation and shape inference are not firing):

- onnxoptimizer: ``optimize(model, [pass])`` against ``optimize(model, [])``, for each pass of
  ``get_fuse_and_elimination_passes()``;
- onnxsim: ``simplify`` with every optimizer but one skipped and constant folding off, against
  every optimizer skipped; and constant folding alone (``constant_folding``), for its pass list
  (onnxoptimizer's list as onnxsim's C++ core builds it: ``_list_optimizers()`` less the two it
  always disables, plus ``fuse_matmul_add_bias_into_gemm_batched``; onnxsim/onnxsim.cpp);
- onnxslim: ``slim(model)`` once, instrumented: each fusion or elimination pattern of its
  registry counts the rewrites its matcher makes (its own name), and its constant folding,
  dead-node elimination and subexpression elimination count the nodes they remove.

The table gives, per pass, on how many graphs it fired, the nodes before and after summed over
those graphs, and the kinds it fired on; the passes that never fired are listed apart.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from typing import Any

from harness.converters.onnxoptimizer_stage import default_passes, in_child
from harness.core import axes, registry
from harness.core.axes import FREE
from harness.core.frameworks import prepare_imports
from harness.core.strategies import sample
from harness.run.pipeline import Harness

# onnxsim/onnxsim.cpp (0.8.1): ``always_disabled_passes`` and the batched-Gemm pass it adds.
ONNXSIM_DISABLED = ("eliminate_shape_gather", "extract_constant_to_initializer")
ONNXSIM_ADDED = ("fuse_matmul_add_bias_into_gemm_batched",)
CONSTANT_FOLDING = "constant_folding"

# Why a pass of a default pipeline cannot fire on what parity draws, with the source line that
# decides it (the pinned releases': onnxoptimizer 0.4.2, onnxsim 0.8.1, onnxslim 0.1.98).
CANNOT = {
    "nop": "does nothing by design (onnxoptimizer/passes/nop.h:12)",
    "fuse_consecutive_slices": "alone in onnxoptimizer: needs the size of the first Slice's "
    "output (onnxoptimizer/passes/fuse_consecutive_slices.h:33), which onnxoptimizer does "
    "not infer and a drawn model, as torch.onnx.export writes one, does not declare; it "
    "fires in onnxsim, which infers shapes first",
    "eliminate_unused_initializer": "alone: every initializer parity writes is a node's "
    "input (onnxoptimizer/passes/eliminate_unused_initializer.h:50); it fires in onnxsim's "
    "pipeline after other passes free one",
}


def signature(model) -> tuple:
    """What a rewrite changes: the nodes (op type, the tensors they read, attributes) and
    the initializers' shapes. A pass that only rewires a node's readers to a twin (common
    subexpressions, whose dead twin another pass removes) changes the tensors they read."""
    nodes = tuple((n.op_type, tuple(n.input), len(n.output),
                   tuple(sorted((a.name, a.SerializeToString()) for a in n.attribute)))
                  for n in model.graph.node)
    inits = tuple(sorted((tuple(t.dims), t.data_type) for t in model.graph.initializer))
    return nodes, inits


def drawn_models(families: list[str], per_kind: int,
                 only: list[str] | None = None) -> list[tuple[str, Any]]:
    """``per_kind`` cases of each kind (of ``only``, where given), and one along its
    free-batch axis where it admits one, as the ci profile's test_op and test_op_axis draw
    them."""
    harness = Harness(known_issues=[])
    models = []
    for kind in sorted(k.name for k in registry.kinds("onnx") if k.family in families
                       and (only is None or k.name in only)):
        specs = sample(kind, per_kind, source="onnx")
        if FREE in axes.admitted(registry.get(kind, "onnx")).names:
            try:
                specs += sample(kind, 1, source="onnx", axis=FREE)
            except Exception as exc:  # noqa: BLE001  (no configuration frees the batch)
                print(f"  {kind}: no free-batch case: {type(exc).__name__}", file=sys.stderr)
        for spec in specs:
            try:
                models.append((kind, harness.read_source(spec).artifact.model))
            except Exception as exc:  # noqa: BLE001  (a case the source refuses is left out)
                print(f"  {kind}: left out: {type(exc).__name__}: {exc}"[:200], file=sys.stderr)
    return models


class Tally:
    """Per pass: graphs fired on, nodes before and after, kinds."""

    def __init__(self, passes: list[str]):
        self.passes = list(passes)
        self.fired: dict[str, int] = collections.Counter()
        self.before: dict[str, int] = collections.Counter()
        self.after: dict[str, int] = collections.Counter()
        self.kinds: dict[str, set[str]] = collections.defaultdict(set)
        self.errors: dict[str, int] = collections.Counter()

    def add(self, name: str, kind: str, before: int, after: int) -> None:
        if name not in self.passes:
            self.passes.append(name)
        self.fired[name] += 1
        self.before[name] += before
        self.after[name] += after
        self.kinds[name].add(kind)

    def to_json(self) -> dict[str, Any]:
        return {"fired": {p: {"graphs": self.fired[p], "nodes_before": self.before[p],
                              "nodes_after": self.after[p], "kinds": sorted(self.kinds[p])}
                          for p in self.passes if self.fired[p]},
                "never_fired": [p for p in self.passes if not self.fired[p]],
                "errors": dict(self.errors)}


def _each_pass(model, passes: list[str]) -> bytes:
    """Per pass (and none, first): whether it changed the graph and its node count, as
    JSON; run in one forked child a graph (onnxoptimizer can crash the process)."""
    import onnxoptimizer

    base = onnxoptimizer.optimize(model, [])
    found = {"": [False, len(base.graph.node)]}
    for name in passes:
        try:
            out = onnxoptimizer.optimize(model, [name])
        except Exception:  # noqa: BLE001  (a refusal: not fired)
            continue
        found[name] = [signature(out) != signature(base), len(out.graph.node)]
    return json.dumps(found).encode()


def onnxoptimizer_coverage(models) -> Tally:
    tally = Tally(default_passes())
    for kind, model in models:
        try:
            found = json.loads(in_child(_each_pass, model, tally.passes))
        except Exception:  # noqa: BLE001  (a pass crashed the child: each alone then)
            found = {}
            for name in tally.passes:
                try:
                    found.update(json.loads(in_child(_each_pass, model, [name])))
                except Exception:  # noqa: BLE001
                    tally.errors[name] += 1
        before = found.get("", [False, 0])[1]
        for name, (changed, after) in found.items():
            if name and changed:
                tally.add(name, kind, before, after)
    return tally


def onnxsim_passes() -> list[str]:
    from onnxsim import onnxsim_cpp2py_export as core

    listed = [p for p in core._list_optimizers() if p not in ONNXSIM_DISABLED]
    return [*listed, *ONNXSIM_ADDED]


def onnxsim_coverage(models) -> Tally:
    import onnxsim

    passes = onnxsim_passes()
    tally = Tally([*passes, CONSTANT_FOLDING])

    def simplified(model, keep: list[str], fold: bool):
        out, _ = onnxsim.simplify(model, skipped_optimizers=[p for p in passes if p not in keep],
                                  skip_constant_folding=not fold)
        return out

    for kind, model in models:
        try:
            base = simplified(model, [], False)
        except Exception:  # noqa: BLE001
            continue
        for name in tally.passes:
            try:
                out = (simplified(model, [], True) if name == CONSTANT_FOLDING
                       else simplified(model, [name], False))
            except Exception:  # noqa: BLE001
                tally.errors[name] += 1
                continue
            if signature(out) != signature(base):
                tally.add(name, kind, len(base.graph.node), len(out.graph.node))
    return tally


def onnxslim_coverage(models) -> Tally:
    """``slim`` once a graph, its pattern matchers and graph-wide steps instrumented."""
    import onnxslim
    from onnxslim.core import optimization
    from onnxslim.core.pattern.registry import DEFAULT_FUSION_PATTERNS

    steps = ("dead_node_elimination", "subexpression_elimination")
    tally = Tally([*DEFAULT_FUSION_PATTERNS, CONSTANT_FOLDING, *steps])
    current: dict[str, Any] = {}
    rewrites: collections.Counter = collections.Counter()
    originals: list[tuple[Any, str, Any]] = []

    def counting_rewrite(matcher, name):
        rewrite = matcher.rewrite

        def wrapped(*args, **kwargs):
            rewrites[name] += 1
            return rewrite(*args, **kwargs)
        return wrapped

    for name, matchers in DEFAULT_FUSION_PATTERNS.items():
        for matcher in matchers:
            originals.append((matcher, "rewrite", matcher.rewrite))
            matcher.rewrite = counting_rewrite(matcher, name)

    def counting_step(step_name, step):
        def wrapped(graph, *args, **kwargs):
            before = len(graph.nodes)
            result = step(graph, *args, **kwargs)
            graph.cleanup()
            if len(graph.nodes) != before:
                tally.add(step_name, current["kind"], before, len(graph.nodes))
            return result
        return wrapped

    for step_name in steps:
        originals.append((optimization, step_name, getattr(optimization, step_name)))
        setattr(optimization, step_name, counting_step(step_name, getattr(optimization,
                                                                          step_name)))
    from onnxslim.third_party.onnx_graphsurgeon.ir.graph import Graph

    fold = Graph.fold_constants
    originals.append((Graph, "fold_constants", fold))

    Graph.fold_constants = counting_step(CONSTANT_FOLDING, fold)
    try:
        for kind, model in models:
            current["kind"] = kind
            rewrites.clear()
            try:
                out = onnxslim.slim(model)
            except Exception:  # noqa: BLE001
                tally.errors["slim"] += 1
                continue
            for name, count in rewrites.items():
                if count:
                    tally.add(name, kind, len(model.graph.node), len(out.graph.node))
    finally:
        for owner, attr, original in reversed(originals):
            setattr(owner, attr, original)
    return tally


COVERAGE = {"onnxoptimizer": onnxoptimizer_coverage, "onnxsim": onnxsim_coverage,
            "onnxslim": onnxslim_coverage}


def table(name: str, tally: Tally) -> str:
    data = tally.to_json()
    lines = [f"### {name}", "", "| pass | graphs | nodes before → after | kinds |",
             "|---|---|---|---|"]
    for p, row in data["fired"].items():
        lines.append(f"| `{p}` | {row['graphs']} | {row['nodes_before']} → {row['nodes_after']}"
                     f" | {', '.join(row['kinds'])} |")
    never = data["never_fired"]
    lines += ["", "| never fired | why |", "|---|---|"]
    lines += [f"| `{p}` | {'cannot: ' + CANNOT[p] if p in CANNOT else 'drawn?: not reached'} |"
              for p in never]
    if not never:
        lines.append("| none | |")
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.tools.pass_coverage")
    parser.add_argument("per_kind", nargs="?", type=int, default=10)
    parser.add_argument("--family", default="patterns")
    parser.add_argument("--kinds", default=None, help="these kinds of the families only")
    parser.add_argument("--tools", default=",".join(COVERAGE))
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    prepare_imports()
    models = drawn_models(args.family.split(","), args.per_kind,
                          args.kinds.split(",") if args.kinds else None)
    print(f"{len(models)} graphs ({args.family}, {args.per_kind} a kind)\n")
    found = {}
    for name in args.tools.split(","):
        found[name] = COVERAGE[name](models)
        print(table(name, found[name]))
    if args.json:
        with open(args.json, "w") as out:
            json.dump({name: tally.to_json() for name, tally in found.items()}, out, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
