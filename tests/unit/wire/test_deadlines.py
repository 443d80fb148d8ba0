"""Many deadlines on one loop timer (``stargate.wire.deadlines``)."""

from __future__ import annotations

import asyncio

from stargate.wire.deadlines import Deadlines


async def test_deadlines_fire_in_order_on_one_timer_and_a_discarded_one_never() -> None:
    deadlines = Deadlines(asyncio.get_running_loop())
    fired: list[str] = []
    last = asyncio.Event()

    def fire(name: str) -> None:
        fired.append(name)
        if name == "late":
            last.set()

    deadlines.add(0.2, fire, "late")  # the timer is set for it
    deadlines.add(0.01, fire, "early")  # earlier: the timer is set again
    dropped = deadlines.add(0.05, fire, "dropped")
    deadlines.add(0.1, fire, "middle")
    deadlines.discard(dropped)
    async with asyncio.timeout(10):  # a guard against a hang, not a measure
        await last.wait()
    assert fired == ["early", "middle", "late"]
    assert not deadlines._live
    assert deadlines._handle is None


async def test_a_deadline_is_not_fired_before_its_time_and_the_timer_is_reused() -> None:
    loop = asyncio.get_running_loop()
    deadlines = Deadlines(loop)
    fired: list[float] = []
    done = asyncio.Event()

    def fire(_: None) -> None:
        fired.append(loop.time())
        done.set()

    first = deadlines.add(0.05, fire, None)
    handle = deadlines._handle
    deadlines.discard(first)
    asked = loop.time()
    deadlines.add(0.08, fire, None)  # later than the armed one: the same timer serves
    assert deadlines._handle is handle
    async with asyncio.timeout(10):  # a guard against a hang, not a measure
        await done.wait()
    assert fired[0] >= asked + 0.08 - 0.001  # the loop's own rule: due to the millisecond
    assert deadlines._handle is None


async def test_stop_drops_the_timer() -> None:
    deadlines = Deadlines(asyncio.get_running_loop())
    fired: list[str] = []
    deadlines.add(0.01, fired.append, "x")
    deadlines.stop()
    await asyncio.sleep(0.05)
    assert fired == []


async def test_deadlines_due_together_fire_by_time_then_in_the_order_added() -> None:
    deadlines = Deadlines(asyncio.get_running_loop())
    fired: list[str] = []
    for name, delay in (("a", 0.03), ("b", 0.03), ("c", 0.029), ("d", 0.03)):
        deadlines.add(delay, fired.append, name)
    await asyncio.sleep(0.02)
    await asyncio.sleep(0.05)  # by now all four are due; the timer went off once or twice
    assert fired == ["c", "a", "b", "d"]


async def test_a_deadline_discarded_by_one_fired_before_it_is_not_fired() -> None:
    deadlines = Deadlines(asyncio.get_running_loop())
    fired: list[str] = []
    handles = {}

    def fire(name: str) -> None:
        fired.append(name)
        if name == "first":
            deadlines.discard(handles["second"])

    handles["first"] = deadlines.add(0.01, fire, "first")
    handles["second"] = deadlines.add(0.01, fire, "second")  # due with it
    deadlines.add(0.01, fire, "third")
    await asyncio.sleep(0.05)  # all three were due when the timer went off
    assert fired == ["first", "third"]
    assert not deadlines._live
