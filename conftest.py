"""pytest wiring for the repository: the parity plugin (options, Hypothesis profiles, reports)."""

pytest_plugins = ["harness.plugin"]
