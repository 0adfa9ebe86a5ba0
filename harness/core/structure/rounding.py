"""Where a converter's rounding bug can be: a value it writes or reads a hair off.

A float32 scale for a size it knew, a float64 epsilon for ONNX's float32 default: only some
values of the model show the difference, and an entry claims a mismatch only where they are."""

from __future__ import annotations

import math
from fractions import Fraction

from harness.core.structure import models
from harness.core.structure.readings import resize_geometry

# A float32 scale is n / h rounded to 24 bits: h x scale is within 2**-24 of n, relatively.
SHORT_BY = Fraction(1, 2**20)


def resize_scale_just_short(received, produced) -> bool:
    """A Resize by constant scales whose scale puts an output length a hair below a whole
    number (float32(5 / 3) x 3 = 4.9999999): ONNX floors it to the length before. tf2onnx
    writes such scales for a static input, where it knows the sizes. Read in the model the
    stage was given and in the one it wrote."""
    both = [m for m in (models.model_of(received), models.model_of(produced)) if m is not None]
    if not both:
        return True
    for model in both:
        shapes, constants, opset = models.declared_shapes(model), models.constants(model), models.opset_of(model)
        for node in models.nodes(model, "Resize"):
            operands = [*node.input, "", "", ""]
            if opset >= 11 and operands[3]:
                continue  # by sizes
            geometry = resize_geometry(node, shapes, constants, opset)
            if geometry is None:
                return True
            for length, _, scale in geometry:
                product = length * scale
                short = math.ceil(product) - product
                if product.denominator != 1 and short < SHORT_BY * product:
                    return True
    return False


NORMALIZATIONS = ("BatchNormalization", "InstanceNormalization", "LayerNormalization",
                  "GroupNormalization", "RMSNormalization")


def epsilon_left_to_default(received, produced) -> bool:
    """A normalization node without an epsilon attribute: ONNX's default is the float32
    1e-5 (an attribute's float is 32-bit), 9.99999975e-6."""
    model = models.model_of(received)
    return model is None or any("epsilon" not in models.attributes(node)
                                for node in models.nodes(model, *NORMALIZATIONS))
