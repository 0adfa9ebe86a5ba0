"""``parity gate``: pytest on the installed suites (``parity_suites``) under the ci profile,
from the current directory, against the converters installed here. It writes
``reports/parity.html``, ``reports/results.jsonl`` and ``reports/junit.xml`` in the current
directory and exits with pytest's status (docs/gate.md)."""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
from pathlib import Path

from harness.core import suites as installed_suites
from harness.core.errors import GoldenError
from harness.core.plugins import import_modules
from harness.core.selection import PROFILES, parse_shard
from harness.core.stages import parse_paths
from harness.gate import config, fetch
from harness.gate.identity import identities, lines
from harness.gate.paths import paths_through
from harness.golden import artifact, verify

SUITES = ("layers", "onnx", "onnx_backend", "keras2", "applications", "saved", "golden", "mat",
          "torch_end", "side_paths")
UNPACKED = ".parity-golden"  # where a store archive is unpacked, in the current directory
NO_STORE = "none"  # PARITY_GOLDEN's value when no store is given: the replay suite skips


class GateError(ValueError):
    """A mistake in the command's options, said in one line."""


def add_gate_command(commands) -> None:
    gate = commands.add_parser(
        "gate", help="run the installed conformance suites here, against the converters "
                     "installed here (docs/gate.md)",
        description=__doc__.replace("``", "'"),
        epilog="pytest's own options go after '--': parity gate --converter onnx2torch -- "
               "-n 2 -k LeakyRelu")
    chosen = gate.add_mutually_exclusive_group()
    chosen.add_argument("--converter", metavar="NAME",
                        help="gate this converter: every path through it (a registered stage)")
    chosen.add_argument("--paths", metavar="PATHS",
                        help="comma-separated conversion paths, as --parity-paths")
    gate.add_argument("--suites", metavar="NAMES",
                      help=f"comma-separated suites to run (default all: {', '.join(SUITES)})")
    gate.add_argument("--golden", metavar="STORE",
                      help="the golden store to replay: a folder, or a .tar.gz written by "
                           "'parity golden pack' (its SHA-256 is checked first), as a path or "
                           "an http(s) URL; without it the replay suite skips")
    gate.add_argument("--golden-sha256", metavar="HEX",
                      help="the archive's SHA-256 (default: the one in STORE.sha256; a URL "
                           "needs it)")
    gate.add_argument("--shard", metavar="I/N", help="run shard I of N (--parity-shard)")
    gate.add_argument("--profile", default="ci", choices=sorted(PROFILES),
                      help="Hypothesis profile (default ci)")
    gate.add_argument("--plugins", metavar="MODULE[,MODULE]",
                      help="modules that register converters (--parity-plugins), imported "
                           "here first so that --converter can name their stages")
    gate.add_argument("--report-versions", action="store_true",
                      help="print parity's version and the golden store's and known issues' "
                           "identities, and exit")
    gate.add_argument("pytest_args", nargs="*", metavar="-- PYTEST_ARGS",
                      help="passed to pytest")
    gate.set_defaults(func=cmd_gate)


def store_root(args: argparse.Namespace) -> Path | None:
    """The store to replay: a folder as it is, an archive once verified and unpacked."""
    if args.golden is None:
        if args.golden_sha256:
            raise GoldenError("--golden-sha256 names the checksum of a --golden archive")
        return None
    unpacked = Path(UNPACKED).resolve()
    given = (fetch.download(args.golden, unpacked / "downloads", args.golden_sha256)
             if fetch.is_url(args.golden) else Path(args.golden))
    if given.is_dir():
        _, problems = verify(given, deep=False)
        if problems:
            raise GoldenError(f"--golden {given}: {len(problems)} problem(s), the first: "
                              f"{problems[0]}")
        return given.resolve()
    return artifact.unpack(given, unpacked, args.golden_sha256)


def pytest_command(args: argparse.Namespace) -> list[str]:
    suites = SUITES if not args.suites else [s.strip() for s in args.suites.split(",")
                                             if s.strip()]
    unknown = [s for s in suites if s not in SUITES]
    if unknown:
        raise GateError(f"--suites: no suite {', '.join(unknown)}; the suites are "
                         f"{', '.join(SUITES)}")
    try:
        parse_shard(args.shard)
    except ValueError as exc:
        raise GateError(f"--shard {exc}") from None
    plugins = [m.strip() for m in (args.plugins or "").split(",") if m.strip()]
    import_modules(plugins)  # a PluginImportError is the user's, in one line
    paths = ",".join(paths_through(args.converter)) if args.converter else args.paths
    if paths is not None:
        parse_paths(paths)  # a mistake is one line here, not a pytest usage error
    return [
        sys.executable, "-m", "pytest", "-c", str(config.PYTEST_INI),
        # The suites need no conftest.py (the plugin is named); the repository's own
        # conftest files, and its pytest settings (-c), stay out of the gate.
        "--rootdir", str(Path.cwd()), "--noconftest", "-p", "harness.plugin",
        "--hypothesis-profile", args.profile,
        "--parity-policy", str(config.TOLERANCE),
        *(["--parity-paths", paths] if paths else []),
        *(["--parity-shard", args.shard] if args.shard else []),
        *(["--parity-plugins", ",".join(plugins)] if plugins else []),
        *[word for word in args.pytest_args if word != "--"],
        # The whole package, the suites not chosen ignored: test ids are then the same
        # wherever the package is installed ("onnx/test_ops.py::..."), and so are shards.
        *[f"--ignore={installed_suites.folder() / s}" for s in SUITES if s not in suites],
        "--pyargs", installed_suites.PACKAGE,
    ]


def cmd_gate(args: argparse.Namespace) -> int:
    root = store_root(args)
    for line in lines(identities(root)):
        print(line)
    if args.report_versions:
        return 0
    try:
        command = pytest_command(args)
    except GateError as exc:
        print(f"parity gate: {exc}", file=sys.stderr)
        return 2
    print("gate:", shlex.join(["python", *command[1:]]), flush=True)
    environment = {**os.environ, "PARITY_GOLDEN": str(root) if root else NO_STORE}
    status = subprocess.run(command, env=environment, check=False).returncode
    return status if status >= 0 else 128 - status  # killed by a signal: as a shell says it
