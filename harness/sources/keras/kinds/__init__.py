"""Layer families. Importing this package registers every kind; a new family is one file
here and one name in the import below."""

from harness.sources.keras import axes  # noqa: F401  (what the kinds admit)
from harness.sources.keras.kinds import (  # noqa: F401
    activations,
    applications,
    attention,
    conv,
    core,
    custom,
    embedding,
    merging,
    models,
    normalization,
    pooling,
    preprocessing,
    recurrent,
    reshaping,
    wrappers,
)
