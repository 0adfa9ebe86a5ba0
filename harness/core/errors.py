"""Errors that several layers raise and catch, so that none of them imports another's."""

from __future__ import annotations


class GoldenError(ValueError):
    """A golden store or case that cannot be used; the message names the file."""
