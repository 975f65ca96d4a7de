"""The parking lot without a server: threads racing to take back and take over connections."""

from __future__ import annotations

import random
import sys
import threading
from types import SimpleNamespace
from typing import Any

from dj_db_conn_pool.parking import ParkingLot


class FakeCheckout:
    """What the parking lot reads of a checkout."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.dbapi_connection = object()
        self.parked_at = self.fresh_until = 0.0
        self.expires_at = float("inf")


def make_lot() -> ParkingLot:
    entry: Any = SimpleNamespace(
        retired=False,
        resets_session=False,
        config=SimpleNamespace(sticky=True),
        gate=None,
        overflow_below=0,
        max_age=float("inf"),
        unchecked_for=0.001,
    )
    return ParkingLot(entry)


def test_racing_threads_never_share_a_connection_and_lose_none() -> None:
    lot = make_lot()
    checkouts = [FakeCheckout(number) for number in range(6)]
    for checkout in checkouts:
        assert lot.park(checkout)  # type: ignore[arg-type]
    in_use: set[int] = set()
    guard = threading.Lock()
    shared: list[str] = []

    def work(seed: int) -> None:
        rng = random.Random(seed)
        mine: FakeCheckout | None = None
        for _ in range(3000):
            if mine is not None and rng.random() < 0.7 and lot.claim(mine):  # type: ignore[arg-type]
                taken: Any = mine
            else:
                taken = lot.take_any()
            if taken is None:
                continue
            with guard:
                if taken.number in in_use:
                    shared.append(f"{taken.number} lent twice")
                in_use.add(taken.number)
            for _ in range(rng.randrange(20)):  # use it for a moment
                pass
            with guard:
                in_use.discard(taken.number)
            assert lot.park(taken)
            mine = taken

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(12)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert shared == []
    assert len(lot) == len(checkouts)  # every connection parked again, none hidden
