"""tox's install command: ``pip install`` under constraints/ci.txt, with a factor's pins swapped in.

A constraints file cannot pin a package twice, so a tox factor that moves one part of the stack
does not add a second constraints file: it names its pins in an environment variable and this
script writes the merged file that pip gets. In tox.ini::

    install_command = python {toxinidir}/constraints/pin.py {envtmpdir}/constraints.txt {opts} {packages}
    set_env = tf220: PARITY_PIN_TF = tensorflow==2.20.0 ...

Every variable named ``PARITY_PIN_<AXIS>`` holds space-separated ``name==version`` pins (one
variable per axis, so that factors of different axes compose: ``tf220-ort130``). A pin replaces
the line of ci.txt for that package, or is added when ci.txt has none; ``name==`` (no version)
drops the package's pin. Every other line of ci.txt stays as it is. The merged file is written
to the first argument and printed, then pip runs with ``-c`` that file and the remaining
arguments.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

BASE = Path(__file__).with_name("ci.txt")
PREFIX = "PARITY_PIN_"


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def overrides(environ: dict[str, str]) -> dict[str, str]:
    """{canonical name: pin line, or '' to drop} from every PARITY_PIN_* variable."""
    found: dict[str, str] = {}
    for key in sorted(k for k in environ if k.startswith(PREFIX)):
        for pin in environ[key].split():
            name, sep, version = pin.partition("==")
            if not sep or not name:
                sys.exit(f"pin.py: {key}: {pin!r} is not name==version (or name== to unpin)")
            found[canonical(name)] = f"{name}=={version}" if version else ""
    return found


def merged(base: str, pins: dict[str, str]) -> str:
    lines, seen = [], set()
    for line in base.splitlines():
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==", line)
        name = canonical(match.group(1)) if match else None
        if name in pins:
            seen.add(name)
            if pins[name]:
                lines.append(f"{pins[name]}  # {PREFIX}* override of: {line.strip()}")
            continue
        lines.append(line)
    lines += [f"{pin}  # {PREFIX}* addition" for name, pin in pins.items()
              if name not in seen and pin]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if not argv:
        sys.exit("usage: pin.py MERGED_CONSTRAINTS_FILE [pip install arguments ...]")
    target, pip_args = Path(argv[0]), argv[1:]
    pins = overrides(dict(os.environ))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(merged(BASE.read_text(), pins))
    if pins:
        print(f"pin.py: constraints/ci.txt with {' '.join(p or n + '==' for n, p in pins.items())}"
              f" -> {target}", flush=True)
    command = [sys.executable, "-m", "pip", "install", "-c", str(target), *pip_args]
    return subprocess.call(command)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
