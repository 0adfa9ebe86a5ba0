"""Layer families. Importing this package registers every kind; a new family is one file
here and one line below."""

from harness.layers import conv, core, merging, normalization, pooling, reshaping  # noqa: F401
