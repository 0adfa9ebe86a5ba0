"""Runs exported reproducers and holds them to their exit codes (docs/upstream-reports.md).
Not imported by the harness::

    python -m harness.tools.run_repros DIR                  # every DIR/*/repro*.py, oneDNN 0 and 1
    python -m harness.tools.run_repros DIR --onednn 0       # one setting
    python -m harness.tools.run_repros DIR --timeout 300 -v  # each script's last lines too

``DIR`` is what ``parity issues export --all --kind wrong-output -o DIR`` wrote. Each script
runs in a fresh interpreter, in its own folder, with ``TF_ENABLE_ONEDNN_OPTS`` set to each
setting asked for (TensorFlow's oneDNN kernels on or off: with them off, TensorFlow refuses
channels_first convolutions on the CPU). A script holds when its last line on stdout is a
verdict and its exit code is that verdict's: REPRODUCED 1, FIXED 0, DIFFERENT 2, CANNOT RUN
3. Anything else (a traceback, a verdict with another code, no verdict) breaks the contract
that exit 1 means the bug reproduced. Prints one line a script and setting, then the tally
per setting; exits 0 when every script holds, 1 when one does not.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

# A verdict line's first word(s) and the exit code that goes with it.
VERDICTS = {"REPRODUCED": 1, "FIXED": 0, "DIFFERENT": 2, "CANNOT RUN": 3}
NO_VERDICT = "no verdict"


@dataclass
class Ran:
    script: Path
    onednn: str
    returncode: int
    verdict: str  # a key of VERDICTS, or NO_VERDICT
    last: str  # the line the verdict was read from (or the end of stderr)
    seconds: float

    @property
    def holds(self) -> bool:
        return VERDICTS.get(self.verdict) == self.returncode


def verdict_of(stdout: str) -> tuple[str, str]:
    """The verdict a script's stdout ends in, and that line; NO_VERDICT when its last line
    is none."""
    lines = stdout.strip().splitlines()
    last = lines[-1] if lines else ""
    for verdict in VERDICTS:
        if last.startswith(verdict + ":"):
            return verdict, last
    return NO_VERDICT, last


def run_one(script: Path, onednn: str, timeout: float) -> Ran:
    env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": onednn}
    started = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, script.name], cwd=script.parent, env=env,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return Ran(script, onednn, -1, NO_VERDICT, f"timed out after {timeout:g} s",
                   time.perf_counter() - started)
    verdict, last = verdict_of(done.stdout)
    if verdict == NO_VERDICT:
        tail = done.stderr.strip().splitlines()
        last = f"{last!r}; stderr ends {tail[-1] if tail else ''!r}"
    return Ran(script, onednn, done.returncode, verdict, last, time.perf_counter() - started)


def scripts_under(root: Path) -> list[Path]:
    return sorted(root.glob("*/repro*.py"))


def tally(runs: list[Ran]) -> dict[str, Counter]:
    found: dict[str, Counter] = {}
    for ran in runs:
        found.setdefault(ran.onednn, Counter())[ran.verdict] += 1
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.tools.run_repros",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path, help="the folder parity issues export wrote")
    parser.add_argument("--onednn", nargs="+", default=["0", "1"], choices=["0", "1"],
                        help="TF_ENABLE_ONEDNN_OPTS settings to run under (default: 0 1)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds a script")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="print each script's verdict line")
    args = parser.parse_args(argv)
    scripts = scripts_under(args.root)
    if not scripts:
        print(f"run_repros: no */repro*.py under {args.root}", file=sys.stderr)
        return 2
    runs = []
    for onednn in args.onednn:
        for script in scripts:
            ran = run_one(script, onednn, args.timeout)
            runs.append(ran)
            mark = "ok " if ran.holds else "BAD"
            name = script.relative_to(args.root)
            print(f"{mark} oneDNN={onednn} exit {ran.returncode:>2} {ran.verdict:<10} "
                  f"{name} ({ran.seconds:.1f} s)" + (f"\n      {ran.last}" if args.verbose
                                                     or not ran.holds else ""), flush=True)
    print()
    for onednn, counts in tally(runs).items():
        listed = ", ".join(f"{counts[v]} {v}" for v in (*VERDICTS, NO_VERDICT) if counts[v])
        print(f"TF_ENABLE_ONEDNN_OPTS={onednn}: {sum(counts.values())} scripts: {listed}")
    broken = [ran for ran in runs if not ran.holds]
    print(f"{len(broken)} of {len(runs)} runs break the exit-code contract")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
