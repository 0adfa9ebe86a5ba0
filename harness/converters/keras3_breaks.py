"""What Keras 3 cannot read of a Keras-2 file, in words, from the error Keras 3 raises.

Keras 3 wraps a failure to deserialise a layer in the failure of each model around it
("Exception encountered: ..." repeated, outermost first), so the break the file actually hits
is the innermost one: a Teachable Machine export (a Functional MobileNet nested in a
Sequential) fails on its ``DepthwiseConv2D``'s Keras-2-only ``groups`` argument, and Keras 3
then reports the nested Functional as a class it "could not locate". A class Keras itself
defines (``Functional``, ``Sequential``, ``Dense``, ...) is never a custom object to register:
``builtin`` says so, and the migration line names what Keras 3 cannot read instead.
"""

from __future__ import annotations

import re

# Keras' own model classes, which no layer namespace lists.
MODEL_CLASSES = ("Functional", "Sequential", "Model")
_KWARGS = re.compile(r"Unrecognized keyword arguments passed to (?P<cls>\w+): \{(?P<args>[^}]*)\}")
_ARG = re.compile(r"'(\w+)'\s*:")
_LAYER = re.compile(r"deserializing class '(?P<cls>\w+)' using config=\{'name': '(?P<name>[^']+)'")
_MISSING = re.compile(r"Could not locate class '(?P<cls>\w+)'")
_ENCOUNTERED = "Exception encountered:"


def builtin(name: str) -> bool:
    """Whether Keras (3 or 2) itself defines a class of this name: a layer or a model."""
    if name in MODEL_CLASSES:
        return True
    try:
        import keras
    except ImportError:  # pragma: no cover (Keras 3 is a dependency)
        return False
    return isinstance(getattr(keras.layers, name, None), type)


def innermost(text: str) -> str:
    """The innermost failure of Keras 3's nested deserialisation errors."""
    return text.rsplit(_ENCOUNTERED, 1)[-1].strip() if _ENCOUNTERED in text else text


def keras3_break(text: str) -> str | None:
    """What Keras 3 cannot read of the file, the innermost break first, from its error text;
    None where the error is not such a break (a custom class the file names, a damaged
    file)."""
    root = innermost(text)
    said = []
    kwargs = _KWARGS.search(root)
    if kwargs and builtin(kwargs["cls"]):
        args = ", ".join(repr(a) for a in _ARG.findall(kwargs["args"]))
        layers = [m for m in _LAYER.finditer(text) if m["cls"] == kwargs["cls"]]
        named = f" {layers[-1]['name']!r}" if layers else ""
        said.append(f"its {kwargs['cls']}{named} carries {args}, an argument of Keras 2's "
                    f"{kwargs['cls']} that Keras 3's does not take")
    missing = [m["cls"] for m in _MISSING.finditer(text) if builtin(m["cls"])]
    if missing and not said:
        said.append(f"it nests a {missing[-1]} model as Keras 2 wrote it (inside a "
                    f"Sequential, as Teachable Machine exports do), which Keras 3's loader "
                    f"does not locate: '{missing[-1]}' is Keras' own class, not a custom "
                    f"object to register")
    elif missing:
        said.append(f"then, around it, the {missing[-1]} model that holds it")
    if not said:
        return None
    return ("Keras 3 cannot read this Keras-2 model: " + "; ".join(said)
            + ". Stay on tf_keras (pip install tf_keras; TF_USE_LEGACY_KERAS=1), or rebuild "
              "the model in Keras 3 and load the weights into it")
