"""FairGate (layer 0): permits in arrival order, timeouts, MAX_WAITING, permits of finalizers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from dj_db_conn_pool import gate as gate_module
from dj_db_conn_pool.gate import FairGate


def wait_until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for a condition"
        time.sleep(0.001)


def test_waiters_are_served_in_arrival_order() -> None:
    gate = FairGate(1)
    assert gate.try_acquire()
    served: list[int] = []
    threads = []
    for number in range(4):

        def wait(number: int = number) -> None:
            assert gate.acquire(timeout=5, max_waiting=None)
            served.append(number)
            gate.release()

        thread = threading.Thread(target=wait)
        thread.start()
        threads.append(thread)
        wait_until(lambda number=number: gate.waiting == number + 1)  # type: ignore[misc]
    gate.release()
    for thread in threads:
        thread.join()
    assert served == [0, 1, 2, 3]
    assert gate.free == 1


def test_try_acquire_does_not_jump_the_queue() -> None:
    gate = FairGate(1)
    assert gate.try_acquire()
    got: list[bool] = []
    waiter = threading.Thread(target=lambda: got.append(bool(gate.acquire(5, None))))
    waiter.start()
    wait_until(lambda: gate.waiting == 1)
    gate.release()  # handed to the waiter, not left free
    assert not gate.try_acquire()
    waiter.join()
    assert got == [True]
    assert gate.free == 0


def test_acquire_gives_up_after_timeout_and_leaves_the_queue() -> None:
    gate = FairGate(1)
    assert gate.try_acquire()
    started = time.monotonic()
    assert gate.acquire(timeout=0.05, max_waiting=None) is False
    assert time.monotonic() - started >= 0.05
    assert gate.waiting == 0
    gate.release()
    assert gate.free == 1


def test_acquire_refuses_at_once_when_max_waiting_wait() -> None:
    gate = FairGate(1)
    assert gate.try_acquire()
    waiter = threading.Thread(target=gate.acquire, args=(0.3, None))
    waiter.start()
    wait_until(lambda: gate.waiting == 1)
    started = time.monotonic()
    assert gate.acquire(timeout=5, max_waiting=1) is None
    assert time.monotonic() - started < 0.2
    waiter.join()


def test_after_enqueue_runs_once_the_caller_waits() -> None:
    gate = FairGate(1)
    assert gate.try_acquire()
    seen: list[int] = []

    def after_enqueue() -> None:
        seen.append(gate.waiting)
        gate.release()  # what the parking lot does: free a permit for the waiter

    assert gate.acquire(timeout=5, max_waiting=None, after_enqueue=after_enqueue) is True
    assert seen == [1]


def test_permit_released_by_a_finalizer_is_adopted_by_the_next_caller() -> None:
    gate = FairGate(1)
    assert gate.try_acquire()
    gate.release_later()
    assert gate.free == 0  # not applied yet: a finalizer takes no lock
    assert gate.try_acquire()


def test_waiter_wakes_for_a_permit_released_by_a_finalizer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(gate_module, "_ORPHAN_CHECK", 0.01)
    gate = FairGate(1)
    assert gate.try_acquire()
    timer = threading.Timer(0.05, gate.release_later)
    timer.start()
    assert gate.acquire(timeout=5, max_waiting=None) is True
    timer.join()
