import importlib

import pytest

pytest_plugins = ["pytester"]


@pytest.fixture(scope="module")
def check_plugin():
    """The stages of tests/test_check_plugin.py (``parity check`` stages with deliberate
    faults), registered."""
    module = importlib.import_module("tests.test_check_plugin")
    module.register_all()  # again, in case a test of another file took a name back
    return module
