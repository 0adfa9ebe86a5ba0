"""The one error type the `.mat` importer raises for anything wrong with its input."""

from __future__ import annotations


class MatImportError(ValueError):
    """A `.mat` file that cannot be read or imported; the message names the file and layer."""

    def __init__(self, message: str, *, path: str | None = None, layer: str | None = None):
        self.path = path
        self.layer = layer
        self.layers: list = []  # the layers a handler would make importable, where known
        prefix = f"{path}: " if path else ""
        super().__init__(prefix + message)
