"""The TEST_RUNNER of the suite's settings: Django's runner, recording each outcome.

runtests.py builds its runner from settings.TEST_RUNNER. This one writes, to
the file named by $DJANGO_SUITE_RESULTS when the run ends (even in an
exception), every test id with its outcome, the tracebacks of failures and
errors, skip reasons, per-test durations (unittest reports them from Python
3.12), the time of each stage and any exception raised outside the tests.
$DJANGO_SUITE_START_METHOD sets how --parallel workers start (spawn: for a
Java VM, which does not survive fork()).
With --parallel, the workers' results are replayed into this process's
result object, so recording here sees every test.
"""

from __future__ import annotations

import functools
import json
import multiprocessing
import os
import time
import traceback
import unittest
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from django.test.runner import DiscoverRunner

RESULTS_ENV = "DJANGO_SUITE_RESULTS"
# multiprocessing's start method for --parallel workers, when not Python's default.
START_METHOD_ENV = "DJANGO_SUITE_START_METHOD"
# A test reported twice (subtests, tearDownClass errors) keeps its worst outcome.
_RANK = {
    "passed": 0,
    "skipped": 0,
    "expected failure": 0,
    "unexpected success": 1,
    "failed": 2,
    "error": 3,
}
_TRACEBACK_CHARS = 6000

ExcInfo = Any  # (type, value, traceback), the traceback rebuilt by tblib in parallel runs


@dataclass
class Record:
    """What a run produced, as written to the results file."""

    outcomes: dict[str, str] = field(default_factory=dict)
    tracebacks: dict[str, str] = field(default_factory=dict)
    skip_reasons: dict[str, str] = field(default_factory=dict)
    durations: dict[str, float] = field(default_factory=dict)
    stages: dict[str, float] = field(default_factory=dict)
    stage_errors: dict[str, str] = field(default_factory=dict)
    collected: int | None = None

    def dump(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as out:
            json.dump(asdict(self), out, indent=1, sort_keys=True)


class RecordingResult(unittest.TextTestResult):
    """unittest's verbose result, noting each test's outcome in a Record."""

    def __init__(self, *args: Any, record: Record, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.record = record

    def _note(self, test: unittest.TestCase, outcome: str, err: ExcInfo = None) -> None:
        test_id = test.id()
        previous = self.record.outcomes.get(test_id)
        if previous is None or _RANK[outcome] > _RANK[previous]:
            self.record.outcomes[test_id] = outcome
        if err is not None and test_id not in self.record.tracebacks:
            text = self._exc_info_to_string(err, test)  # type: ignore[attr-defined]
            self.record.tracebacks[test_id] = text[-_TRACEBACK_CHARS:]

    def addSuccess(self, test: unittest.TestCase) -> None:
        super().addSuccess(test)
        self._note(test, "passed")

    def addFailure(self, test: unittest.TestCase, err: ExcInfo) -> None:
        super().addFailure(test, err)
        self._note(test, "failed", err)

    def addError(self, test: unittest.TestCase, err: ExcInfo) -> None:
        super().addError(test, err)
        self._note(test, "error", err)

    def addSkip(self, test: unittest.TestCase, reason: str) -> None:
        super().addSkip(test, reason)
        self._note(test, "skipped")
        self.record.skip_reasons[test.id()] = reason

    def addExpectedFailure(self, test: unittest.TestCase, err: ExcInfo) -> None:
        super().addExpectedFailure(test, err)
        self._note(test, "expected failure")

    def addUnexpectedSuccess(self, test: unittest.TestCase) -> None:
        super().addUnexpectedSuccess(test)
        self._note(test, "unexpected success")

    def addSubTest(self, test: unittest.TestCase, subtest: unittest.TestCase, err: ExcInfo) -> None:
        super().addSubTest(test, subtest, err)
        if err is not None:
            failed = issubclass(err[0], test.failureException)
            self._note(test, "failed" if failed else "error", err)

    def addDuration(self, test: unittest.TestCase, elapsed: float) -> None:
        parent = getattr(super(), "addDuration", None)  # Python 3.12+
        if parent is not None:
            parent(test, elapsed)
        self.record.durations[test.id()] = round(elapsed, 4)


class RecordingRunner(DiscoverRunner):
    """Django's DiscoverRunner, writing a Record when the run ends."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.record = Record()
        if method := os.environ.get(START_METHOD_ENV):
            # Before any worker starts; Django's runner supports spawn and forkserver.
            multiprocessing.set_start_method(method, force=True)

    @contextmanager
    def _stage(self, name: str) -> Iterator[None]:
        start = time.monotonic()
        try:
            yield
        except BaseException:
            self.record.stage_errors[name] = traceback.format_exc()[-_TRACEBACK_CHARS:]
            raise
        finally:
            self.record.stages[name] = round(time.monotonic() - start, 2)

    def get_resultclass(self) -> Callable[..., RecordingResult]:  # type: ignore[override]
        return functools.partial(RecordingResult, record=self.record)

    def build_suite(self, *args: Any, **kwargs: Any) -> Any:
        suite = super().build_suite(*args, **kwargs)
        self.record.collected = suite.countTestCases()
        return suite

    def setup_databases(self, **kwargs: Any) -> Any:
        with self._stage("setup_databases"):
            return super().setup_databases(**kwargs)

    def run_suite(self, suite: Any, **kwargs: Any) -> Any:
        with self._stage("run_suite"):
            return super().run_suite(suite, **kwargs)

    def teardown_databases(self, old_config: Any, **kwargs: Any) -> None:
        with self._stage("teardown_databases"):
            super().teardown_databases(old_config, **kwargs)

    def run_tests(self, *args: Any, **kwargs: Any) -> int:
        try:
            return super().run_tests(*args, **kwargs)
        except BaseException:
            if not self.record.stage_errors:  # raised outside the stages timed above
                self.record.stage_errors["run_tests"] = traceback.format_exc()[-_TRACEBACK_CHARS:]
            raise
        finally:
            self.record.dump(os.environ[RESULTS_ENV])
