"""harness.tools.worktree.checked_out: a commit's tree beside this one, gone on leaving (the
benchmarks' --against and branch_moves measure other trees in it)."""

from __future__ import annotations

import subprocess

import pytest

from harness.tools.worktree import ROOT, checked_out


def listed_worktrees() -> str:
    return subprocess.run(["git", "worktree", "list", "--porcelain"], cwd=ROOT,
                          capture_output=True, text=True, check=True).stdout


def test_a_commit_is_checked_out_and_removed_on_leaving() -> None:
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout.strip()
    with checked_out("HEAD") as tree:
        assert (tree / "pyproject.toml").is_file() and (tree / "harness").is_dir()
        assert subprocess.run(["git", "rev-parse", "HEAD"], cwd=tree, capture_output=True,
                              text=True, check=True).stdout.strip() == head
        assert str(tree) in listed_worktrees()
    assert not tree.exists()
    assert str(tree) not in listed_worktrees()


def test_it_is_removed_when_the_measuring_fails() -> None:
    with pytest.raises(RuntimeError), checked_out("HEAD") as tree:
        raise RuntimeError("a measurement failed")
    assert not tree.exists() and str(tree) not in listed_worktrees()


def test_a_ref_git_does_not_know_names_itself() -> None:
    with pytest.raises(subprocess.CalledProcessError) as raised, checked_out("no-such-ref-xyz"):
        pass
    assert "no-such-ref-xyz" in raised.value.stderr
