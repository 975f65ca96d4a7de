"""What happens around a loan: threads that end, forked children, leaks (no server)."""

from __future__ import annotations

import logging
import os
import threading
import time

import pytest

from dj_db_conn_pool import fork, leaks, thread_exit

from .conftest import MakePool
from .fakedb import GOODBYE, FakeDriver


class Holder:
    def __init__(self) -> None:
        self.ended = 0

    def pool_thread_ended(self) -> None:
        self.ended += 1


def test_holder_is_told_once_when_its_thread_ends_not_before() -> None:
    holder = Holder()
    registered, finish = threading.Event(), threading.Event()

    def work() -> None:
        thread_exit.release_at_exit(holder)
        thread_exit.release_at_exit(holder)
        registered.set()
        finish.wait(5)

    thread = threading.Thread(target=work)
    thread.start()
    registered.wait(5)
    assert holder.ended == 0
    finish.set()
    thread.join()
    assert holder.ended == 1


def test_a_failing_holder_does_not_keep_the_others_from_being_told(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Failing(Holder):
        def pool_thread_ended(self) -> None:
            raise RuntimeError("boom")

    holders = [Failing(), Holder(), Failing()]

    def register() -> None:
        for holder in holders:
            thread_exit.release_at_exit(holder)

    thread = threading.Thread(target=register)
    thread.start()
    thread.join()
    assert holders[1].ended == 1
    assert "could not give back" in caplog.text


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_forked_child_closes_inherited_connections_without_a_word_to_the_server() -> None:
    driver = FakeDriver()
    connection = driver.connect()
    fork.track(connection)
    pid = os.fork()
    if pid == 0:  # the child: say nothing over the parent's socket, then leave
        try:
            fork.drop_inherited()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    server_end = connection.sockets[1]  # type: ignore[index]
    server_end.setblocking(False)
    with pytest.raises(BlockingIOError):
        server_end.recv(1)  # no goodbye: the parent's session lives on
    connection.close()
    assert server_end.recv(1) == GOODBYE  # what the child would have sent
    driver.close_all()
    fork.forget(connection)


def test_leak_is_reported_once_with_where_it_was_checked_out(
    make_pool: MakePool, caplog: pytest.LogCaptureFixture
) -> None:
    entry, _driver = make_pool(leak_timeout=0.01)
    checkout = entry.checkout()
    assert leaks.check([entry]) == 0
    time.sleep(0.02)
    with caplog.at_level(logging.WARNING, logger="dj_db_conn_pool"):
        assert leaks.check([entry]) == 1
    assert "LEAK_TIMEOUT=0.01s" in caplog.text
    assert "test_leak_is_reported_once_with_where_it_was_checked_out" in caplog.text
    assert leaks.check([entry]) == 0
    entry.give_back(checkout, reusable=True)


def test_parked_connection_is_no_leak_and_its_clock_restarts_when_taken_back(
    make_pool: MakePool,
) -> None:
    entry, _driver = make_pool(leak_timeout=0.01)
    checkout = entry.checkout()
    entry.give_back(checkout, reusable=True, park=True)
    time.sleep(0.02)
    assert leaks.check([entry]) == 0
    assert entry.reclaim(checkout)
    assert leaks.check([entry]) == 0
    entry.give_back(checkout, reusable=True)


def test_pool_without_leak_timeout_reports_nothing(make_pool: MakePool) -> None:
    entry, _driver = make_pool()
    checkout = entry.checkout()
    time.sleep(0.01)
    assert leaks.check([entry]) == 0
    entry.give_back(checkout, reusable=True)
