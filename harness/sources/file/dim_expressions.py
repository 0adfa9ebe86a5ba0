"""A free dimension's name as exporters write it: a symbol (``batch``), or arithmetic over
symbols and integers (Hugging Face Optimum's ``past_sequence_length + 1``, torch.export's
``s0 + s1``), which gives the dimension's size once its symbols have theirs."""

from __future__ import annotations

import ast
import operator

OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
             ast.FloorDiv: operator.floordiv}


def expression(name: str) -> ast.expr | None:
    """``name`` parsed as arithmetic over symbols, or None where it is a plain symbol or not
    arithmetic at all (then it is a name like any other)."""
    try:
        tree = ast.parse(name.strip(), mode="eval").body
    except SyntaxError:
        return None
    return tree if isinstance(tree, ast.BinOp) and _arithmetic(tree) else None


def evaluate(tree: ast.expr, sizes: dict[str, int]) -> int | None:
    """The size ``tree`` gives with ``sizes`` for its symbols; None where a symbol has none
    yet or the size is not positive."""
    try:
        value = _value(tree, sizes)
    except (KeyError, ZeroDivisionError):
        return None
    return value if value > 0 else None


def _arithmetic(tree: ast.expr) -> bool:
    if isinstance(tree, ast.BinOp):
        return type(tree.op) in OPERATORS and _arithmetic(tree.left) and _arithmetic(tree.right)
    if isinstance(tree, ast.Constant):
        return type(tree.value) is int
    return isinstance(tree, ast.Name)


def _value(tree: ast.expr, sizes: dict[str, int]) -> int:
    if isinstance(tree, ast.BinOp):
        return OPERATORS[type(tree.op)](_value(tree.left, sizes), _value(tree.right, sizes))
    if isinstance(tree, ast.Constant):
        return tree.value
    return sizes[tree.id]
