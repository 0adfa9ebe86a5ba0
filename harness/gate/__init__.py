"""``parity gate``: the installed suites run from a converter team's own repository against
the converter installed there (docs/gate.md)."""
