"""A second call of a converted module that passed, where its converter documents a call by
the model's input names (``Artifact.meta[CALLED_BY_NAME]``: onnx2pytorch's ``forward(
*input_list, **input_dict)``).

parity runs every module positionally. A user may call such a module by name, which goes
through code of the converter that no positional call reaches: so the leg calls it once more,
by name, at the case's first size, and judges that call against the source as it judged the
first. Where that call fails, two copies of the module as it is then, one called
positionally and one by name, tell the two faults apart: where they agree, the module gives
other outputs on a later call on the same inputs (it keeps state from one call to the next,
whichever way it is called); where they do not, the call by name is at fault.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from harness.core.artifact import CALLED_BY_NAME, Artifact
from harness.core.compare import compare_outputs, worst_comparison
from harness.core.records import LegResult
from harness.runtimes.torch import TorchByNameRunner, call_by_name_text, run_module


def called_by_name(artifact: Artifact) -> bool:
    return bool((artifact.meta or {}).get(CALLED_BY_NAME)) and bool(artifact.input_names)


def by_name_failure(artifact: Artifact, size, tolerance, device: str, threads: int,
                    at_size: Callable[[Any], LegResult]) -> LegResult | None:
    """The leg failing as the module called by name fails, or None where the artifact
    documents no call by name or the call agrees with the source at ``size``.
    ``at_size(runner)``: the leg run with that runner at ``size`` and compared."""
    if not called_by_name(artifact):
        return None
    leg = at_size(TorchByNameRunner(device, threads))
    if leg.verdict in ("pass", "skip"):
        return None
    call = call_by_name_text(artifact.input_names)
    if _same_both_ways(artifact, size, tolerance, device):
        leg.message = ("called again on the same inputs, the module gives other outputs than "
                       "its first call: it keeps state from one call to the next (the call "
                       f"was by its inputs' names, {call}; two copies of it as it is now, "
                       f"one called positionally, one by name, agree):\n{leg.message}")
    else:
        leg.message = (f"called by its inputs' names, {call}, the module fails where its "
                       f"positional call passes:\n{leg.message}")
    return leg


def _same_both_ways(artifact: Artifact, size, tolerance, device: str) -> bool:
    """Whether two copies of the module as it is now, one called positionally and one by
    name on ``size``'s inputs, agree within ``tolerance``: then the call by name failed for
    what earlier calls left in the module, not for the names. Run here, never from the
    stage cache, which holds the first calls' outputs."""
    module = artifact.model.to(device).eval()
    try:
        positional = run_module(copy.deepcopy(module), size.inputs, device)
        by_name = run_module(copy.deepcopy(module), size.inputs, device,
                             names=artifact.input_names)
    except Exception:  # noqa: BLE001  (a call that raises: not the same both ways)
        return False
    return worst_comparison(compare_outputs(by_name, positional, tolerance)).passed
