"""The documentation is checked like code: README.md and every page in docs/.

- Every fenced block names its language. Python blocks run, in order, one fresh interpreter
  per page (a page is one session: a later block sees an earlier block's names), in an empty
  working folder. Shell blocks: each ``parity ...`` command is parsed by the CLI's own parser,
  and each ``pytest ...`` command's parity options by the plugin's; the conversion paths they
  name must parse. TOML blocks parse, and tolerance rules and known-issue entries load.
- A block that cannot run here says why on the line above its fence::

      <!-- not run by tests/test_docs.py: needs a CUDA device -->

- Relative links and the anchors they name exist; repository paths in backticks exist; no
  page points at a file users do not have.
- The known-issues table in docs/known-issues.md is the one ``python -m harness.tools.docs_tables``
  generates from the known-issue files.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness import converters, sources
from harness.core import known_issues
from harness.core.tolerance import TolerancePolicy
from harness.tools import docs_tables

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
OPT_OUT = re.compile(r"^\s*<!--\s*not run by tests/test_docs\.py:\s*(?P<reason>.*?)\s*-->\s*$")
PYTHON = {"python", "py"}
SHELL = {"bash", "sh", "shell", "console"}
TOML = {"toml"}
# Shown, not run: output, configuration of other tools, data formats.
SHOWN = {"text", "ini", "yaml", "xml", "json", "html", "matlab"}
# A placeholder for the reader's own converter or package in an example.
PLACEHOLDER = re.compile(r"^my")
# Paths that exist only on the machines this project is developed on.
FOREIGN = ("../shared", "/work/")
REPO_DIRS = ("harness", "suites", "tests", "docs", "matlab", "benchmarks", "constraints",
             "golden", ".ci")
_DIRS = "|".join(re.escape(d) for d in REPO_DIRS)
REPO_PATH = re.compile(rf"`((?:{_DIRS})/[^`\s]*)`")
LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # of the block's first line of content
    lang: str
    text: str
    opt_out: str | None  # the reason given, when the block is not run

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    lines = page.read_text().splitlines()
    found, i = [], 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        above = next((line for line in reversed(lines[:i]) if line.strip()), "")
        marker = OPT_OUT.match(above)
        body, j = [], i + 1
        while j < len(lines) and not (lines[j].strip().startswith(fence)
                                      and lines[j].strip().strip(fence[0]) == ""):
            body.append(lines[j][len(indent):] if lines[j].startswith(indent) else lines[j])
            j += 1
        found.append(Block(page, i + 2, opening["info"].strip().split(" ")[0].lower(),
                           "\n".join(body) + "\n", marker["reason"] if marker else None))
        i = j + 1
    return found


ALL_BLOCKS = [block for page in PAGES for block in blocks(page)]


def _ids(items):
    return [item.where if isinstance(item, Block) else item.name for item in items]


def test_the_pages_exist_and_have_code():
    names = {page.name for page in PAGES}
    assert {"README.md", "known-issues.md", "tolerances.md", "golden.md"} <= names
    assert any(block.lang in PYTHON for block in ALL_BLOCKS)
    assert any(block.lang in SHELL for block in ALL_BLOCKS)


def test_the_readme_is_a_front_door():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) < 200, "README.md is the front door: under 200 lines"
    # CI and the checker read these two commands from the README, character for character.
    assert ('pip install -c constraints/ci.txt -e ".[all]" && parity install onnx2tf && '
            "pytest suites/ -n 2 --hypothesis-profile ci") in text
    assert "pytest tests suites -n 2 --hypothesis-profile ci" in text


@pytest.mark.parametrize("block", ALL_BLOCKS, ids=_ids(ALL_BLOCKS))
def test_every_block_names_its_language(block):
    known = PYTHON | SHELL | TOML | SHOWN
    assert block.lang in known, (
        f"{block.where}: a fenced block needs one of the languages {sorted(known)} "
        f"(`text` for output), got {block.lang or 'none'!r}")
    if block.opt_out is not None:
        assert len(block.opt_out) >= 15, (
            f"{block.where}: an opt-out says why the block cannot run here")


# --- python ------------------------------------------------------------------------------

DRIVER = r"""
import json, sys, types
blocks = json.load(sys.stdin)
page = types.ModuleType("docs_example")
sys.modules["docs_example"] = page
for block in blocks:
    # Padded so that a traceback names the page and the line in it.
    code = compile("\n" * (block["line"] - 1) + block["text"], block["page"], "exec")
    exec(code, page.__dict__)
"""

PYTHON_PAGES = [page for page in PAGES
                if any(b.lang in PYTHON and b.opt_out is None for b in blocks(page))]


def run_python(page_blocks: list[Block], cwd: Path) -> subprocess.CompletedProcess:
    """Runs the python blocks that are not opted out, in order, in one fresh interpreter."""
    runnable = [{"page": str(b.page), "line": b.line, "text": b.text}
                for b in page_blocks if b.lang in PYTHON and b.opt_out is None]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    return subprocess.run([sys.executable, "-c", DRIVER], input=json.dumps(runnable), cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("page", PYTHON_PAGES, ids=_ids(PYTHON_PAGES))
def test_python_examples_run(page, tmp_path):
    done = run_python(blocks(page), tmp_path)
    assert done.returncode == 0, (
        f"{page.relative_to(ROOT)}: a python example failed\n{done.stdout[-3000:]}\n"
        f"{done.stderr[-6000:]}")


def test_a_failing_example_names_its_page_and_line(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "Text.\n\n1. A step:\n\n   ```python\n   x = 1\n   ```\n\n"
        "<!-- not run by tests/test_docs.py: needs a CUDA device here -->\n"
        "```python\nraise SystemExit('opted out, never run')\n```\n\n"
        "```python\nassert x == 2, 'the example is wrong'\n```\n")
    found = blocks(page)
    assert [(b.line, b.text, b.opt_out) for b in found] == [
        (6, "x = 1\n", None),
        (11, "raise SystemExit('opted out, never run')\n", "needs a CUDA device here"),
        (15, "assert x == 2, 'the example is wrong'\n", None)]
    done = run_python(found, tmp_path)
    assert done.returncode != 0
    assert f'File "{page}", line 15' in done.stderr and "the example is wrong" in done.stderr


# --- shell -------------------------------------------------------------------------------


def commands(text: str) -> list[list[str]]:
    """The simple commands of a shell block (continuations joined, comments and the
    environment assignments in front of a command dropped)."""
    found = []
    for line in text.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|")
        lexer.whitespace_split = True
        command: list[str] = []
        for token in [*lexer, ";"]:
            if token and set(token) <= set(";&|"):
                if command:
                    found.append(command)
                command = []
            elif command or not re.match(r"^[A-Za-z_]\w*=", token):
                command.append(token)
    return found


def _parse(parser: argparse.ArgumentParser, argv: list[str], known: bool = False):
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors):
            return parser.parse_known_args(argv) if known else (parser.parse_args(argv), [])
    except SystemExit:
        return errors.getvalue().strip() or "argparse exited"


class _PytestOptions(argparse.ArgumentParser):
    """argparse holding the options ``harness.plugin.pytest_addoption`` declares: its
    ``getgroup(...).addoption(...)`` calls take argparse's arguments."""

    def getgroup(self, name: str, description: str = "") -> _PytestOptions:
        return self

    def addoption(self, *names: str, **kwargs) -> None:
        self.add_argument(*names, **kwargs)


def _pytest_parser() -> _PytestOptions:
    from harness import plugin

    parser = _PytestOptions(prog="pytest", allow_abbrev=False, add_help=False)
    plugin.pytest_addoption(parser)
    return parser


def _check_paths(text: str, plugins: str | None, where: str) -> None:
    """Every path parses, unless it names stages that only the command's plugins (or the
    reader's own converter, named ``my...``) register."""
    known = set(converters.available())
    for path in filter(None, (p.strip() for p in text.split(","))):
        unknown = [s for s in path.split(">")[1:] if s not in known]
        if unknown:
            assert plugins or all(PLACEHOLDER.match(s) for s in unknown), (
                f"{where}: path {path!r} names unknown stages {unknown}")
            continue
        try:
            converters.ConversionPath.parse(path)
        except converters.PathError as exc:
            pytest.fail(f"{where}: {exc}")


SHELL_BLOCKS = [b for b in ALL_BLOCKS if b.lang in SHELL and b.opt_out is None]


@pytest.mark.parametrize("block", SHELL_BLOCKS, ids=_ids(SHELL_BLOCKS))
def test_shell_examples_parse(block):
    from harness.cli import build_parser

    for argv in commands(block.text):
        shown = shlex.join(argv)
        if argv[0] == "parity":
            parsed = _parse(build_parser(), argv[1:])
            assert not isinstance(parsed, str), f"{block.where}: `{shown}`: {parsed}"
            args = parsed[0]
            if getattr(args, "paths", None):
                _check_paths(args.paths, getattr(args, "plugins", None), block.where)
        elif argv[0] == "pytest" or argv[:3] == ["python", "-m", "pytest"]:
            parsed = _parse(_pytest_parser(), argv[1:], known=True)
            assert not isinstance(parsed, str), f"{block.where}: `{shown}`: {parsed}"
            options, rest = parsed
            unknown = [a for a in rest if a.startswith(("--parity", "--golden"))]
            assert not unknown, f"{block.where}: `{shown}`: no such pytest option {unknown}"
            if options.parity_paths:
                _check_paths(options.parity_paths, options.parity_plugins, block.where)


def test_shell_commands_are_split_as_a_shell_would():
    text = ('PARITY_X=1 parity repro abc --script out.py && python out.py  # REPRODUCED\n'
            'pytest suites/ \\\n  --parity-paths "keras>tf2onnx" | tee log\n')
    assert commands(text) == [["parity", "repro", "abc", "--script", "out.py"],
                              ["python", "out.py"],
                              ["pytest", "suites/", "--parity-paths", "keras>tf2onnx"],
                              ["tee", "log"]]


def test_a_wrong_command_in_a_page_is_caught():
    from harness.cli import build_parser

    assert isinstance(_parse(build_parser(), ["repro"]), str)  # the case id is missing
    assert isinstance(_parse(build_parser(), ["no-such-command"]), str)
    options, rest = _parse(_pytest_parser(), ["suites/", "--parity-device", "cuda", "-n", "2"],
                           known=True)
    assert options.parity_device == "cuda" and rest == ["suites/", "-n", "2"]
    assert isinstance(_parse(_pytest_parser(), ["--parity-device", "tpu"], known=True), str)
    with pytest.raises(AssertionError, match="unknown stages"):
        _check_paths("keras>tf2onnx>no-such-stage", None, "here")


# --- toml --------------------------------------------------------------------------------

TOML_BLOCKS = [b for b in ALL_BLOCKS if b.lang in TOML and b.opt_out is None]


@pytest.mark.parametrize("block", TOML_BLOCKS, ids=_ids(TOML_BLOCKS))
def test_toml_examples_load(block, tmp_path):
    try:
        data = tomllib.loads(block.text)
    except tomllib.TOMLDecodeError as exc:
        pytest.fail(f"{block.where}: not valid TOML: {exc}")
    tolerance = data.get("tool", {}).get("parity", {}).get("tolerance")
    if tolerance is not None:
        TolerancePolicy.from_table(tolerance, block.where)
    if "issue" in data:
        entry = tmp_path / "issues.toml"
        entry.write_text(block.text)
        assert known_issues.load(entry)
    groups = data.get("project", {}).get("entry-points", {})
    assert set(groups) <= {converters.ENTRY_POINT_GROUP, sources.ENTRY_POINT_GROUP}, (
        f"{block.where}: parity reads the entry-point groups {converters.ENTRY_POINT_GROUP} "
        f"and {sources.ENTRY_POINT_GROUP}, not {sorted(groups)}")


# --- links and paths ---------------------------------------------------------------------


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[`*_]|<[^>]+>", "", heading).strip().lower()
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found: set[str] = set()
    inside = False
    for line in page.read_text().splitlines():
        if FENCE.match(line):
            inside = not inside
        elif not inside and (heading := re.match(r"^#{1,6}\s+(.*)$", line)):
            slug, n = _slug(heading[1]), 1
            candidate = slug
            while candidate in found:
                candidate, n = f"{slug}-{n}", n + 1
            found.add(candidate)
    return found


def _prose(page: Path) -> str:
    """The page without its code blocks (paths inside commands are checked by running)."""
    lines, inside = [], False
    for line in page.read_text().splitlines():
        if FENCE.match(line):
            inside = not inside
        elif not inside:
            lines.append(line)
    return "\n".join(lines)


@pytest.mark.parametrize("page", PAGES, ids=_ids(PAGES))
def test_links_and_paths_exist(page):
    text, problems = _prose(page), []
    for match in LINK.finditer(text):
        target = match["target"]
        if re.match(r"^[a-z]+:", target):
            continue  # https:, mailto:
        file, _, anchor = target.partition("#")
        linked = (page.parent / file).resolve() if file else page
        if not linked.exists():
            problems.append(f"link to {target!r}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            problems.append(f"link to {target!r}: {linked.name} has no heading with that anchor")
    for match in REPO_PATH.finditer(text):
        path = match[1].rstrip(".,:;")
        wild = re.search(r"[<*{$]", path)
        where = path[: wild.start()].rpartition("/")[0] if wild else path
        if not (ROOT / where).exists():
            problems.append(f"`{path}`: no such file in the repository")
    assert not problems, f"{page.relative_to(ROOT)}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("page", PAGES, ids=_ids(PAGES))
def test_no_page_points_at_files_users_do_not_have(page):
    text = page.read_text()
    for foreign in FOREIGN:
        assert foreign not in text, f"{page.name}: mentions {foreign!r}, which users do not have"


def test_anchors_follow_github():
    assert _slug("The `.mat` → PyTorch path") == "the-mat--pytorch-path"
    assert _slug("Keras on PyTorch: the `keras-torch` leg") == "keras-on-pytorch-the-keras-torch-leg"


# --- generated tables --------------------------------------------------------------------


def test_the_known_issues_table_is_up_to_date():
    page = docs_tables.KNOWN_ISSUES_PAGE
    text = page.read_text()
    assert text == docs_tables.render(text, docs_tables.known_issues_table(), str(page)), (
        f"{page.relative_to(ROOT)} is out of date with the known-issue files "
        f"(harness/known_issues.toml, harness/known_issues.d/*.toml); regenerate it with "
        f"`{docs_tables.REGENERATE}` and commit the result")
    for issue in known_issues.load():
        assert f"[`{issue.id}`]({issue.url})" in text


def test_the_known_issues_table_renders_every_entry_of_every_file(tmp_path):
    first, second = tmp_path / "a.toml", tmp_path / "b.toml"
    first.write_text('[[issue]]\nid = "one"\nurl = "https://example.org/issues/1"\n'
                     'nature = "wrong-output"\nparty = "tf2onnx"\n'
                     'reason = """Breaks | splits\nlines."""\nlegs = ["keras>*", "onnx>*"]\n'
                     'minimal = { kind = "Dense", attrs = { units = 1 }, '
                     'input_shapes = [[1, 2]], seed = 0 }\n')
    second.write_text('[[issue]]\nid = "two"\nurl = "https://example.org/2"\n'
                      'nature = "refusal"\nparty = ["onnx2torch", "onnx2pytorch"]\n'
                      'see_also = ["https://example.org/pull/7"]\n'
                      'unpinned_reason = "Not drawable."\n'
                      'reason = "No minimal spec."\nlegs = "*>onnx2torch"\n')
    table = docs_tables.known_issues_table([first, second])
    assert table.splitlines()[0].startswith(
        "2 entries, one per root cause; 1 pin something that runs: 1 carry 1 minimal specs")
    assert ("| [`one`](https://example.org/issues/1) | wrong-output | tf2onnx | `keras>*`, "
            "`onnx>*` | `Dense` on (1, 2) | [#1](https://example.org/issues/1) "
            "| Breaks \\| splits lines. |") in table
    assert ("| [`two`](https://example.org/2) | refusal | onnx2torch, onnx2pytorch | "
            "`*>onnx2torch` | none: Not drawable. | none found; related or in part: "
            "[#7](https://example.org/pull/7) | No minimal spec. |") in table
    # The counts a reader can recompute: per nature, per party (two parties count for each).
    assert "| wrong-output | wrong numbers, shapes, dtypes or output count | 1 |" in table
    assert "| onnx2pytorch | 1 | 0 | 1 | 0 | 0 | 0 | 0 |" in table
    assert "- 1 entries cite an upstream issue or pull request" in table
    assert "- 1 entries found no upstream report" in table
    page = f"intro\n{docs_tables.BEGIN}\nstale\n{docs_tables.END}\nafter\n"
    rendered = docs_tables.render(page, table)
    assert rendered.startswith("intro\n") and rendered.endswith("\nafter\n")
    assert "stale" not in rendered and table in rendered
    with pytest.raises(docs_tables.DocsTableError, match="marker"):
        docs_tables.render("no markers", table)


def test_the_table_command_writes_and_checks(tmp_path, capsys):
    page = tmp_path / "known-issues.md"
    page.write_text(f"# Known\n{docs_tables.BEGIN}\n{docs_tables.END}\n")
    assert docs_tables.main(["--page", str(page), "--check"]) == 1
    assert docs_tables.REGENERATE in capsys.readouterr().err
    assert docs_tables.main(["--page", str(page)]) == 0
    assert docs_tables.main(["--page", str(page), "--check"]) == 0
    assert docs_tables.main(["--page", str(tmp_path / "missing.md")]) == 2
    assert "missing.md" in capsys.readouterr().err
