"""The conftest's CI rules, run on the suite's own tests in a pytest of their own: a skip
that is not on the allow-list fails a CI run, and so does an option CI would not show."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import unexpected
from tests.tools import ROOT

#: Runs pytest on the given arguments with a plugin that skips every test it runs.
FORCE_SKIP = """
import sys
import pytest

class ForceSkip:
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item):
        pytest.skip("skipped by the test of the CI rules")

sys.exit(pytest.main(["-p", "no:cacheprovider", *sys.argv[1:]], plugins=[ForceSkip()]))
"""


def pytest_run(
    *args: str, ci: bool, force_skip: bool = False, addopts: str = ""
) -> subprocess.CompletedProcess[str]:
    """A pytest run at the repository root, in CI or not."""
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    if ci:
        env["CI"] = "true"
    if addopts:
        env["PYTEST_ADDOPTS"] = addopts
    command = (
        ["-c", FORCE_SKIP] if force_skip else ["-m", "pytest", "-p", "no:cacheprovider"]
    )
    return subprocess.run(
        [sys.executable, *command, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_an_unexpected_skip_fails_a_ci_run_and_is_named() -> None:
    """In CI a skip nobody listed turns a green run red, naming the test; elsewhere not."""
    target = "tests/test_watchdog.py::test_a_test_that_switches_the_watchdog_off_fails"
    ci = pytest_run(target, ci=True, force_skip=True)
    assert 1 == ci.returncode, ci.stdout + ci.stderr
    assert f"UNEXPECTED SKIP {target}: skipped by the test of the CI rules" in ci.stdout
    local = pytest_run(target, ci=False, force_skip=True)
    assert 0 == local.returncode, local.stdout + local.stderr
    assert "UNEXPECTED SKIP" not in local.stdout


def test_listed_skips_pass_a_ci_run_on_the_pythons_they_are_listed_for() -> None:
    """The 3.12+ tests skip on older Pythons without failing CI; on 3.12+ they run."""
    result = pytest_run(
        "tests/runtime/test_auth.py", "tests/runtime/test_pep695.py", "-rs", ci=True
    )
    assert 0 == result.returncode, result.stdout + result.stderr
    skipped = "skipped" in result.stdout.splitlines()[-1]
    assert (sys.version_info < (3, 12)) == skipped, result.stdout


def test_ci_refuses_options_it_would_not_show() -> None:
    """PYTEST_ADDOPTS, and --update-golden however given, stop a CI run at once."""
    inherited = pytest_run("tests/test_watchdog.py", ci=True, addopts="--update-golden")
    assert 4 == inherited.returncode
    assert "CI runs the command it shows: unset PYTEST_ADDOPTS" in inherited.stderr
    given = pytest_run("tests/test_watchdog.py", "--update-golden", ci=True)
    assert 4 == given.returncode
    assert "--update-golden rewrites what CI is there to check" in given.stderr


def test_the_allow_list_matches_test_reason_and_python() -> None:
    """A skip is allowed only for a listed test, with the listed reason, on the Pythons
    where it is listed as expected."""
    pep695 = "tests/runtime/test_pep695.py::test_box_means_what_protocol_of_t_means"
    listed = (pep695, "PEP 695 is Python 3.12+")
    other_reason = (pep695, "could not import 'jedi'")
    other_test = ("tests/runtime/test_tls.py::test_x", "PEP 695 is Python 3.12+")
    expected_here = sys.version_info < (3, 12)
    assert ([] if expected_here else [listed]) == unexpected([listed])
    assert [other_reason, other_test] == unexpected([other_reason, other_test])
