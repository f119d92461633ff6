"""Quality-control tests: plain pytest, no database.

Tests of a de-identification detector carry ``@pytest.mark.detector("name")``; at the end of the
run a table of how many tests each detector has (and how many passed) is printed, for the
closing note of the issue.
"""

from __future__ import annotations

from collections import Counter

import pytest

from cohortvault.quality.detectors import DETECTORS

DETECTOR_NAMES = [d.name for d in DETECTORS] + ["column-name"]
_collected: Counter[str] = Counter()
_passed: Counter[str] = Counter()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "detector(name): a test of one de-identification detector")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for marker in item.iter_markers("detector"):
            name = str(marker.args[0])
            if name not in DETECTOR_NAMES:
                raise pytest.UsageError(f"unknown detector {name!r} in {item.nodeid}")
            _collected[name] += 1


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.passed:
        for keyword in report.keywords:
            if keyword.startswith("detector:"):
                _passed[keyword.removeprefix("detector:")] += 1


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker in item.iter_markers("detector"):
        item.keywords[f"detector:{marker.args[0]}"] = True


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _collected:
        return
    write = terminalreporter.write_line
    write("")
    write("De-identification detectors and their tests (collected / passed):")
    for name in DETECTOR_NAMES:
        write(f"  {name:28s} {_collected[name]:4d} / {_passed[name]:4d}")
    write(f"  {'all':28s} {sum(_collected.values()):4d} / {sum(_passed.values()):4d}")
