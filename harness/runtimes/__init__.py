"""Runtimes: each framework's own code for loading and running a model (onnxruntime, torch,
Keras, the subprocess worker). Below the stages and the sources, which both run artifacts;
above the neutral core. The only modules, with the converters that wrap a framework, that
import a framework at all (docs/architecture.md).

The runner registry (``harness.runtimes.registry``) is re-exported here: ``runner_for``,
``register_runner``, ``formats``, ``Runner``, ``RunError``, ``LoadError``, ``MachineLacks``."""

from harness.runtimes.registry import (
    LoadError,
    MachineLacks,
    RunError,
    Runner,
    formats,
    register_runner,
    runner_for,
)

__all__ = ["LoadError", "MachineLacks", "RunError", "Runner", "formats", "register_runner", "runner_for"]
