"""The verdict every entry's script ends in: its last line and its exit code.

REPRODUCED (exit 1), FIXED (exit 0), DIFFERENT (exit 2: it fails, but not as the entry says);
CANNOT RUN (exit 3) is the guard's. ``KNOWN_ISSUE`` is the entry's id: the export writes it.
"""

import sys
from importlib import metadata

KNOWN_ISSUE = "the entry's id"  # written by the export (harness.core.skeleton)
EXIT = {"FIXED": 0, "REPRODUCED": 1, "DIFFERENT": 2}


def stack_line(*packages):
    """The first line: the entry, then each package the script runs, with its version."""
    return f"{KNOWN_ISSUE}: " + ", ".join(f"{name} {metadata.version(name)}" for name in packages)


def say(verdict, text):
    """The last line, and the exit with the verdict's code."""
    print(f"{verdict}: known issue {KNOWN_ISSUE}: {text} (exit {EXIT[verdict]})")
    sys.exit(EXIT[verdict])
