"""``parity check MODEL``: parity for the model a user holds.

The file becomes a case of the ``file`` source (``harness.sources.file``), which reads it to
the artifact format its paths start from; the case goes down every path that applies to
that format (``DEFAULT_PATHS``, or the user's ``--paths``) through the same ``Harness`` a
suite run uses, so legs, tolerance rules, known issues, per-layer diagnosis, result records
and the report are the suite's. Where the model has a free dimension the case runs twice:
at its first sizes (converted once) and again at second sizes on the artifacts already
converted, so that a converter that baked a size in is caught without converting twice.

On top of the suite's verdicts ``check`` adds what a user acts on: task-level agreement
(``harness.check.task``), the known pitfalls that bit (``harness.check.pitfalls``) and one
row per leg (``harness.check.verdicts``). It watches the run (``harness.check.harness``)
rather than wrapping it; its options and outcome are in ``harness.check.options``, what it
writes beside the verdicts in ``harness.check.reports``.
"""

from __future__ import annotations

from harness.core.lazy import lazy_names

# Where each public name lives. ``parity``'s parser loads ``harness.check.cli`` (and with it
# this package) on every command, so the package itself imports nothing: a name is looked up
# in its module when it is first used.
PUBLIC = {
    "DEFAULT_PATHS": "harness.sources.file",
    "FILE_ATOL": "harness.check.run",
    "FILE_RTOL": "harness.check.run",
    "FILE_RULE_REASON": "harness.check.run",
    "import_plugins": "harness.check.run",
    "default_paths": "harness.check.run",
    "choose_paths": "harness.check.run",
    "torch_end_paths": "harness.check.run",
    "make_policy": "harness.check.run",
    "run_check": "harness.check.run",
    "deciding": "harness.check.verdicts",
    "DEFAULT_PIN_LIMIT_MB": "harness.check.options",
    "CheckError": "harness.check.options",
    "CannotCheckHere": "harness.check.options",
    "CheckOptions": "harness.check.options",
    "CheckOutcome": "harness.check.options",
    "CheckHarness": "harness.check.harness",
    "make_harness": "harness.check.harness",
    "returned_training": "harness.check.harness",
}
__all__ = sorted(PUBLIC)
__getattr__ = lazy_names(__name__, PUBLIC)
