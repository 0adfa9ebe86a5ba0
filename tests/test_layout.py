"""The repository's root holds what the README's layout documents, and nothing else.

The README's "rest of the tree" block names every top-level file and folder; a file written at
the root by a test run or a debugging session (a stray `conv.onnx`) fails here before it is
committed, and a new top-level folder is documented where a newcomer reads.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
# The design card's top level: the layout the README documents must keep these.
CARD = {"conftest.py", "pyproject.toml", "tox.ini", "harness/", "suites/", "tests/", "golden/",
        "reports/", "matlab/", "docs/"}
# The README documents itself; git's own file needs no line.
SELF_EVIDENT = {"README.md", ".gitignore"}


def documented_names(readme: str) -> set[str]:
    """The names in the README's layout block: each line's first column, comma-separated."""
    match = re.search(r"The rest of the tree:\s*```text\n(.*?)```", readme, re.S)
    assert match, "README.md: no ```text block after 'The rest of the tree:'"
    names = set()
    for line in match.group(1).splitlines():
        first_column = re.split(r"\s{2,}", line.strip(), maxsplit=1)[0]
        names.update(name.strip() for name in first_column.split(",") if name.strip())
    return names


def root_entries() -> set[str]:
    """What git would commit at the root: tracked, and untracked but not ignored."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: which root files are ignored is git's to say")
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "--deduplicate"],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout.splitlines()
    return {path.split("/")[0] + ("/" if "/" in path else "") for path in listed
            if (ROOT / path).exists()}


def test_the_layout_block_keeps_the_design_cards_top_level():
    names = documented_names(README.read_text())
    assert names >= CARD, f"README.md's layout lost {sorted(CARD - names)}"


def test_documented_names_are_read_from_each_lines_first_column():
    block = ("The rest of the tree:\n\n```text\n"
             "a.py, b/      two names\n"
             "c/            one, with a comma in its words\n```\n")
    assert documented_names(block) == {"a.py", "b/", "c/"}


def test_the_root_holds_only_what_the_readme_documents():
    allowed = documented_names(README.read_text()) | SELF_EVIDENT
    stray = sorted(root_entries() - allowed)
    assert not stray, (
        f"at the repository root, not in README.md's layout: {stray}; move them under the "
        "folder they belong to (tests write into tmp_path) or document them there")
