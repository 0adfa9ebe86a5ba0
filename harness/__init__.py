"""parity: a conformance suite and numerical parity harness for model converters."""

__version__ = "0.1.0"
