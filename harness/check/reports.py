"""What ``parity check`` writes beside its verdicts: the suite's reports and, with
``--script``, a standalone reproducer."""

from __future__ import annotations

import shutil
from pathlib import Path

from harness.check.options import CheckOptions, CheckOutcome
from harness.check.pin import unstorable
from harness.converters import DEFAULT_OPSET
from harness.golden import CASES, default_root
from harness.repro_script import ScriptError, write_script
from harness.results import ResultWriter, new_run_id, result_records, run_record
from harness.suite_reports import write_reports


def write_check_reports(folder: Path, outcome: CheckOutcome,
                        options: CheckOptions) -> list[str]:
    """The check's result records, merged into the suite's reports under ``folder``
    (results.jsonl, parity.html, junit.xml); a report that cannot be written is a problem
    of the outcome, not an error."""
    run_id = new_run_id()
    command = options.command or f"parity check {options.model}"
    shard = folder / ".shards" / run_id / "check.jsonl"
    writer = ResultWriter(shard)
    try:
        writer.write(run_record(run_id=run_id, shard="check", device=options.device,
                                opset=options.opset or DEFAULT_OPSET,
                                paths=sorted({row.path for row in outcome.rows}),
                                hypothesis=None, command=command))
        for case in outcome.cases:
            writer.write_all(result_records(case, run_id=run_id, shard="check",
                                            device=options.device, test=command,
                                            hypothesis=None))
    finally:
        writer.close()
    try:
        written = write_reports(folder, [shard], command=command)
    except Exception as exc:  # noqa: BLE001  (the report must not hide the verdicts)
        outcome.problems.append(f"the reports could not be written: {type(exc).__name__}: "
                                f"{exc}")
        return [str(shard)]
    shutil.rmtree(shard.parent, ignore_errors=True)
    return [str(p) for p in written]


def write_check_script(options: CheckOptions, harness, case, outcome: CheckOutcome) -> None:
    """The reproducer of the case's failing stage at ``--script`` (harness.repro_script);
    one that cannot be written is a problem of the outcome."""
    if outcome.exit_code == 0:
        outcome.problems.append("no script written: every leg agrees")
        return
    why = unstorable([*(harness.inputs or ()), *(harness.reference or ())])
    if why is not None:
        outcome.problems.append(f"no script written: the case cannot be embedded: {why}")
        return
    root = Path(options.golden) if options.golden else default_root()
    try:
        text = write_script(harness, case, max_bytes=int(options.max_inline_mb * 2**20),
                            golden_folder=root / CASES / case.spec.case_id,
                            plugins=list(options.plugins))
    except ScriptError as exc:
        outcome.problems.append(f"no script written: {exc}")
        return
    except Exception as exc:  # noqa: BLE001  (the verdicts stand without a script)
        outcome.problems.append(f"no script written: {type(exc).__name__}: {exc}")
        return
    Path(options.script).write_text(text, encoding="utf-8")
    outcome.script = str(options.script)
