"""A pin's failure while its known issue reproduces (suites.verdicts.fail_while_it_reproduces):
under its strict xfail an xfail, and a pass once the issue is fixed fails the run; where
xfails are run as tests (``--runxfail``), the failure is its message alone, no traceback."""

from __future__ import annotations

import textwrap

SUITE = textwrap.dedent('''
    from types import SimpleNamespace

    import pytest

    from suites.verdicts import fail_while_it_reproduces

    ISSUE = SimpleNamespace(id="demo-issue", url="https://example.org/issues/1")


    @pytest.mark.xfail(strict=True, reason="demo")
    def test_still_broken():
        fail_while_it_reproduces(ISSUE, ["onnx>onnx2torch"])


    @pytest.mark.xfail(strict=True, reason="demo")
    def test_fixed():
        fail_while_it_reproduces(ISSUE, [])
''')


def test_a_pin_that_reproduces_is_an_xfail_and_a_fixed_one_fails_the_run(pytester):
    pytester.makepyfile(test_pins=SUITE)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(xfailed=1, failed=1)
    result.stdout.fnmatch_lines(["*XPASS(strict)*demo*"])


def test_run_as_a_test_its_failure_is_the_message_without_a_traceback(pytester):
    pytester.makepyfile(test_pins=SUITE)
    result = pytester.runpytest("-p", "no:cacheprovider", "--runxfail")
    result.assert_outcomes(failed=1, passed=1)
    output = result.stdout.str()
    assert "demo-issue reproduces on ['onnx>onnx2torch']: https://example.org/issues/1" in output
    assert "fail_while_it_reproduces(ISSUE" not in output  # no source line of a traceback
