"""What a source makes and a stage takes and returns: a model in one format, with the names
of its inputs and what its maker records about it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Artifact:
    format: str  # "keras", "onnx", "torch", ...
    model: Any
    input_names: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)


# ``meta[RETURNED_TRAINING]`` of a torch artifact: the submodules (their ``named_modules``
# names, "" for the module itself) that its converter returned in training mode; empty when it
# returned the module in eval mode. The stage calls ``.eval()`` before parity runs the module,
# so this is the only record of what a user who runs the module as returned gets
# (harness.check.pitfalls).
RETURNED_TRAINING = "returned_training"

# ``meta[CALLED_BY_NAME]`` of a torch artifact: its converter's module takes its inputs by the
# model's input names as well as in order (onnx2pytorch's ``forward(*input_list,
# **input_dict)``), so a user may call it either way. Where the leg passes, parity calls it
# once more, by name, and that call must agree with the source too (harness.run.second_call).
CALLED_BY_NAME = "called_by_name"


def training_modules(module) -> tuple[str, ...]:
    """The names of the module's submodules (itself: "") that are in training mode."""
    return tuple(name for name, sub in module.named_modules() if sub.training)


def torch_artifact(module, input_names, meta: dict[str, Any] | None = None) -> Artifact:
    """A torch stage's artifact: the module in eval mode, the submodules its converter
    returned in training mode in the meta."""
    returned = training_modules(module)
    return Artifact("torch", module.eval(), list(input_names),
                    {**(meta or {}), RETURNED_TRAINING: returned})


# ``meta[SKIPPED_WORK]`` of any artifact: what its converter logged that it went on without
# (a node it failed to convert and left as it found it), in one line. The leg that reads the
# artifact is an error where it would pass, since its numbers alone cannot show what was left
# out, and a failing leg keeps its own failure and notes it (harness.run.pipeline).
SKIPPED_WORK = "skipped_work"
