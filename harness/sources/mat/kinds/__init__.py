"""The MATLAB layer kinds, one file a family. Importing this package registers every kind:
in ``harness.sources.mat.table`` (``get``, ``layers``) and, as the kind of a drawn ``mat``
case, in ``harness.core.registry`` (source ``mat``). A new kind is one ``register(MatLayer(...))``
in its family's file; a new family is one file and one name in the import list below, which
is the registry of families.
"""

from __future__ import annotations

from harness.sources.mat.kinds import (  # noqa: F401  (registers on import)
    activation,
    convolution,
    core,
    inputs,
    merge,
    normalization,
    pooling,
    recurrent,
)
from harness.sources.mat.registration import register  # noqa: F401
from harness.sources.mat.table import FAMILY_PREFIX, UnknownMatLayer, get, layers  # noqa: F401
