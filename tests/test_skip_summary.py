"""The suite's last lines say in one line what it skipped and why."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True)
def plugin_on_path(monkeypatch):
    """Let the inner pytest import the plugin from tests/, as the suite's own run does."""
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent))


def test_the_run_ends_with_one_line_of_skips_and_their_reasons(pytester):
    pytester.makepyfile(test_some="""
        import pytest

        def test_runs():
            assert True

        @pytest.mark.parametrize("n", [1, 2])
        def test_needs_redis(n):
            pytest.skip("Redis on 127.0.0.1:6379 is not reachable")

        def test_needs_nginx():
            pytest.skip("nginx is not installed")
    """)
    result = pytester.runpytest_subprocess("-p", "skip_summary", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, skipped=3)
    lines = [line for line in result.outlines if line.startswith("Skipped ")]
    assert lines == ["Skipped 3 tests: 2 × Redis on 127.0.0.1:6379 is not reachable; nginx is not installed"]
    # At the end: after the line come only pytest's own summary lines.
    after = result.outlines[result.outlines.index(lines[0]) + 1:]
    assert all(line.startswith(("SKIPPED", "=", "")) for line in after)


def test_nothing_skipped_says_nothing(pytester):
    pytester.makepyfile(test_some="def test_runs():\n    assert True\n")
    result = pytester.runpytest_subprocess("-p", "skip_summary", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert not [line for line in result.outlines if line.startswith("Skipped ")]
