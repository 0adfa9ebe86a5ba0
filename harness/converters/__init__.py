"""The built-in converters (stages), one file each.

The converter protocol, its registry and conversion paths live in ``harness.core.stages``
(the built-ins are named there by ``module:class``, imported on first use); they are
re-exported here, where converters and users import them from::

    from harness.converters import Artifact, ConvertOptions, register
"""

from __future__ import annotations

from harness.core.artifact import (  # noqa: F401  (re-exported)
    CALLED_BY_NAME,
    RETURNED_TRAINING,
    Artifact,
    torch_artifact,
    training_modules,
)
from harness.core.stages import (  # noqa: F401  (re-exported)
    BUILTIN,
    DEFAULT_OPSET,
    DEFAULT_PATHS,
    ENTRY_POINT_GROUP,
    ConversionError,
    ConversionPath,
    Converter,
    ConvertOptions,
    NotApplicable,
    PathError,
    ScriptRecipe,
    TransientFailure,
    available,
    get,
    parse_paths,
    register,
    unregister,
)
