"""Reading a layer's attributes and weights, with errors that name the layer."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from harness.mat.errors import MatImportError
from harness.mat.layout import restore_rank
from harness.mat.network import Layer
from harness.mat.reader import numbers, text


def fail(layer: Layer, message: str) -> MatImportError:
    return MatImportError(f"{layer.where}: {message}", layer=layer.name)


def floats(layer: Layer, key: str, default: list[float] | None = None) -> list[float]:
    if key not in layer.attrs:
        if default is None:
            raise fail(layer, f"missing field '{key}'")
        return list(default)
    values = numbers(layer.attrs[key])
    if not values and default is not None:
        return list(default)
    return values


def ints(layer: Layer, key: str, count: int, default: float | None = None) -> list[int]:
    """A size-like field as `count` ints; a scalar repeats (MATLAB's convention)."""
    values = floats(layer, key, None if default is None else [default])
    if len(values) == 1:
        values = values * count
    if len(values) != count or any(v != int(v) for v in values):
        raise fail(layer, f"field '{key}' must hold 1 or {count} integers, not {values}")
    return [int(v) for v in values]


def scalar(layer: Layer, key: str, default: float | None = None) -> float:
    values = floats(layer, key, None if default is None else [default])
    if len(values) != 1:
        raise fail(layer, f"field '{key}' must be a scalar, not {values}")
    return values[0]


def word(layer: Layer, key: str, default: str = "") -> str:
    value = layer.attrs.get(key)
    return text(value, default) if value is not None else default


def array(layer: Layer, key: str, rank: int, required: bool = True) -> np.ndarray | None:
    value = layer.params.get(key, layer.attrs.get(key))
    if value is None or (isinstance(value, np.ndarray) and value.size == 0):
        if required:
            raise fail(layer, f"missing weights '{key}'")
        return None
    return shaped(layer, np.asarray(value), rank, key)


def shaped(layer: Layer, value: np.ndarray, rank: int, what: str) -> np.ndarray:
    try:
        return restore_rank(value, rank)
    except ValueError as error:
        raise fail(layer, f"{what} of size {list(value.shape)} does not fit a {rank}-D "
                          "array") from error


def vector(layer: Layer, value: np.ndarray | None, length: int, what: str) -> np.ndarray | None:
    """A MATLAB vector of any orientation (C×1, 1×C, 1×1×C) checked to hold `length` values."""
    if value is None:
        return None
    flat = np.asarray(value).ravel(order="F")
    if flat.size != length:
        raise fail(layer, f"{what} holds {flat.size} values, but the layer's sizes need {length}")
    return flat


def tensor(value: Any) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32))


def check_shape(layer: Layer, what: str, actual: tuple[int, ...], expected: tuple[int, ...]):
    if tuple(actual) != tuple(expected):
        raise fail(layer, f"{what} has size {list(actual)}, but the layer declares "
                          f"{list(expected)}")


def flat(layer: Layer, key: str, length: int | None = None,
         required: bool = True) -> np.ndarray | None:
    """A vector property of any orientation (C×1, 1×C, 1×1×C) as a flat array, checked to
    hold `length` values when given."""
    value = layer.params.get(key, layer.attrs.get(key))
    if value is None or (isinstance(value, np.ndarray) and value.size == 0):
        if required:
            raise fail(layer, f"missing weights '{key}'")
        return None
    values = np.asarray(value).ravel(order="F")
    if length is not None:
        return vector(layer, values, length, key)
    return values
