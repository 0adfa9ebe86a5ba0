"""``parity cache info|clear``: what the stage cache holds, and pruning it."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.run.stage_cache.store import DEFAULT_FOLDER, Store, size_text


def cmd_cache_info(args: argparse.Namespace) -> int:
    for line in Store(args.dir).info().lines():
        print(line)
    return 0


def cmd_cache_clear(args: argparse.Namespace) -> int:
    if args.older_than is not None and args.older_than < 0:
        print("parity cache clear: --older-than takes a number of days, 0 or more")
        return 2
    removed, freed = Store(args.dir).clear(args.older_than)
    unused = "" if args.older_than is None else f" unused for {args.older_than:g} days"
    print(f"removed {removed} entr{'y' if removed == 1 else 'ies'}{unused} from {args.dir} "
          f"({size_text(freed)} freed)")
    return 0


def add_cache_command(commands) -> None:
    cache = commands.add_parser("cache", help="the stage cache: info, clear (docs/cache.md)")
    cache_commands = cache.add_subparsers(dest="cache_command", required=True)
    for name, func, text in (
        ("info", cmd_cache_info, "entries, size, least and most recently used"),
        ("clear", cmd_cache_clear, "remove entries (all, or those unused for DAYS)"),
    ):
        sub = cache_commands.add_parser(name, help=text)
        sub.add_argument("--dir", type=Path, default=Path(DEFAULT_FOLDER),
                         help=f"the cache folder (default: {DEFAULT_FOLDER})")
        sub.set_defaults(func=func)
        if name == "clear":
            sub.add_argument("--older-than", type=float, default=None, metavar="DAYS",
                             help="remove only entries no run used for DAYS days")
