"""The suites' terminal line: how many drawn Keras cases the ci profile leaves to the cover
(``suites/layers/ci_draws.json``, docs/coverage.md), so that a run says what it did not run."""

from pathlib import Path

from harness.cover_corpus import ci_draws_line, current_profile

LAYERS = Path(__file__).parent / "layers"


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    targets = [Path(config.rootpath, arg.split("::")[0]).resolve()
               for arg in config.args] or [Path(config.rootpath).resolve()]
    if current_profile() == "ci" and any(
            target == LAYERS or target in LAYERS.parents or LAYERS in target.parents
            for target in targets):
        terminalreporter.write_line(ci_draws_line(LAYERS))
