"""The wheel's packages: the library (``harness``) and the conformance suites, which live in
``suites/`` in the repository and install as ``parity_suites``, so that a converter team runs
them from its own repository (docs/gate.md). Everything else is in pyproject.toml."""

from setuptools import find_namespace_packages, find_packages, setup

# suites/mat has no __init__.py (its modules are collected by file, as in the repository).
SUITES = ["parity_suites", *(f"parity_suites.{name}" for name in find_namespace_packages(
    "suites", exclude=["*__pycache__*"]))]

setup(packages=[*find_packages(include=["harness", "harness.*"]), *SUITES],
      package_dir={"parity_suites": "suites"})
