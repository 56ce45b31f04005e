"""Test-suite options; the reference example is importable by every test and its children.

In CI (the environment variable ``CI`` set, as CI runs do) a run fails when a test was
skipped that ``EXPECTED_SKIPS`` does not list for this Python, and refuses options it would
not show: ``PYTEST_ADDOPTS``, ``--update-golden``.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import watchdog as watchdog_timer

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
if str(EXAMPLES) not in sys.path:
    sys.path.insert(0, str(EXAMPLES))


@dataclass(frozen=True)
class ExpectedSkip:
    """Tests (a node id pattern) that may skip, for this reason, when ``expected``."""

    nodeids: str
    reason: str
    expected: bool


#: The skips CI accepts. Each says why; any other skip fails a CI run.
EXPECTED_SKIPS = (
    # `class Box[T](Protocol)` only parses on 3.12+: the tests of its meaning need it.
    ExpectedSkip(
        "tests/runtime/test_pep695.py::*",
        "PEP 695 is Python 3.12+",
        sys.version_info < (3, 12),
    ),
    # Before 3.12 a stdlib client can only answer with HMAC-MD5: there is no stdlib
    # SHA-256 client to interoperate with.
    ExpectedSkip(
        "tests/runtime/test_auth.py::test_stdlib_clients_of_312_and_later_interoperate",
        "stdlib SHA-256 handshake is 3.12+",
        sys.version_info < (3, 12),
    ),
    # The chart's plotting library is in the `bench` dependency group, which CI does not
    # install; the chart's figures and labels are checked without it.
    ExpectedSkip(
        "tests/test_chart.py::test_the_committed_chart_is_what_chart_py_makes_of_the_run",
        "matplotlib is not installed (pip install --group bench)",
        importlib.util.find_spec("matplotlib") is None,
    ),
)


def in_ci() -> bool:
    """Whether this is a CI run (``CI`` set to anything but a no, as CI services do)."""
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def unexpected(skipped: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The (node id, reason) pairs of ``skipped`` that ``EXPECTED_SKIPS`` does not allow."""
    return [
        (nodeid, reason)
        for nodeid, reason in skipped
        if not any(
            allowed.expected
            and allowed.reason == reason
            and fnmatch.fnmatchcase(nodeid, allowed.nodeids)
            for allowed in EXPECTED_SKIPS
        )
    ]


class SkipWatch:
    """In CI, fails the run when a test or module was skipped unexpectedly."""

    def __init__(self) -> None:
        self.skipped: list[tuple[str, str]] = []

    def note(self, report: pytest.CollectReport | pytest.TestReport) -> None:
        """Keep a skip's node id and reason."""
        if report.skipped and not hasattr(report, "wasxfail"):
            longrepr = report.longrepr
            reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
            self.skipped.append((report.nodeid, reason.removeprefix("Skipped: ")))

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """A module skipped whole (``importorskip``, a module-level ``pytest.skip``)."""
        self.note(report)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """A skipped test (a mark, ``pytest.skip``, a skipping fixture)."""
        self.note(report)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """An otherwise green run with unexpected skips fails."""
        if unexpected(self.skipped) and session.exitstatus in (
            pytest.ExitCode.OK,
            pytest.ExitCode.NO_TESTS_COLLECTED,
        ):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(
        self, terminalreporter: pytest.TerminalReporter
    ) -> None:
        """Name the skips that failed the run."""
        found = unexpected(self.skipped)
        if found:
            terminalreporter.write_sep(
                "=",
                f"{len(found)} skips CI does not expect (see EXPECTED_SKIPS)",
                red=True,
            )
            for nodeid, reason in found:
                terminalreporter.write_line(f"UNEXPECTED SKIP {nodeid}: {reason}")


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--update-golden`` rewrites the golden files instead of comparing against them."""
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="regenerate tests/golden/*/expected from the current generator "
        "(the tests of a rewritten file fail: review the diff and run again)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """In CI: watch the skips, and refuse what would change the run unseen."""
    if not in_ci():
        return
    if os.environ.get("PYTEST_ADDOPTS"):
        raise pytest.UsageError(
            "CI runs the command it shows: unset PYTEST_ADDOPTS "
            f"({os.environ['PYTEST_ADDOPTS']!r})"
        )
    if config.getoption("--update-golden"):
        raise pytest.UsageError("--update-golden rewrites what CI is there to check")
    config.pluginmanager.register(SkipWatch(), "typedmgr-skip-watch")


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Say what the environment adds to the command line."""
    addopts = os.environ.get("PYTEST_ADDOPTS")
    return [f"PYTEST_ADDOPTS: {addopts}"] if addopts else []


@pytest.fixture(autouse=True)
def watchdog(request: pytest.FixtureRequest) -> Iterator[None]:
    """Interrupt a ``process`` test that runs past ``WATCHDOG`` seconds (wherever it
    blocks); fail one that switched the watchdog off (see tests/watchdog.py). A test that
    builds and installs distributions says how long it may take instead:
    ``@pytest.mark.process(timeout=...)``."""
    marker = request.node.get_closest_marker("process")
    if marker is None:
        yield
        return
    with watchdog_timer.armed(
        float(marker.kwargs.get("timeout", watchdog_timer.WATCHDOG))
    ):
        yield


@pytest.fixture(scope="module")
def server_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the servers a test module starts with ``tests.tools.log_to`` log: one file
    per module, so a module-scoped manager can log there too."""
    return tmp_path_factory.mktemp("server-log") / "server.log"
