"""The hub: audiences, order, slow and dead tablets, presence, metrics."""

from __future__ import annotations

import asyncio
import json
import time

from server.access import Viewer
from server.eventlog import PublishedEvent
from server.metrics import Histogram, render_metrics
from server.realtime import SEND_TIMEOUT, Hub


class Tablet:
    """A fake socket; ``hold()`` makes its sends hang like a tablet that stopped reading."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.closed_with: int | None = None

    async def send(self, text: str) -> None:
        await self.gate.wait()
        self.received.append(json.loads(text))

    async def close(self, code: int) -> None:
        self.closed_with = code

    def hold(self) -> None:
        self.gate.clear()

    def seqs(self) -> list[int]:
        return [m["seq"] for m in self.received if m["type"] == "event"]


def join(hub: Hub, viewer: Viewer) -> tuple[Tablet, object]:
    tablet = Tablet()
    conn = hub.join(viewer, tablet.send, tablet.close)
    conn.start()
    return tablet, conn


def event(seq: int, audience: str = "all", meeting: int = 1) -> PublishedEvent:
    return PublishedEvent(meeting, seq, "agenda.current", audience, {"seq": seq})


DELEGATE = Viewer(1, "delegate", 10)
OTHER_DELEGATE = Viewer(1, "delegate", 11)
CHAIR = Viewer(1, "chair", 1)
PROJECTOR = Viewer(1, "projector")


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_each_event_reaches_only_its_audience():
    hub = Hub()
    delegate, _ = join(hub, DELEGATE)
    other, _ = join(hub, OTHER_DELEGATE)
    chair, _ = join(hub, CHAIR)
    projector, _ = join(hub, PROJECTOR)

    hub.deliver([event(1, "all"), event(2, "staff"), event(3, "public"), event(4, "person:10")])

    assert delegate.seqs() == [1, 3, 4]
    assert other.seqs() == [1, 3]
    assert chair.seqs() == [1, 2]
    assert projector.seqs() == [1, 3]


async def test_event_of_another_meeting_is_not_sent():
    hub = Hub()
    delegate, _ = join(hub, DELEGATE)

    hub.deliver([event(1, meeting=2)])

    assert delegate.received == []


async def test_hub_drops_an_event_it_already_delivered():
    hub = Hub()
    delegate, _ = join(hub, DELEGATE)

    hub.deliver([event(1), event(2)])
    hub.deliver([event(2), event(1)])

    assert delegate.seqs() == [1, 2]


async def test_event_is_encoded_once_for_all_its_tablets():
    hub = Hub()
    tablets = [join(hub, Viewer(1, "delegate", 100 + i))[1] for i in range(3)]
    texts = []
    for conn in tablets:
        conn.send = lambda text, texts=texts: _record(texts, text)

    hub.deliver([event(1)])
    await settle()

    assert len(texts) == 3
    assert texts[0] is texts[1] is texts[2]


async def _record(texts: list, text: str) -> None:
    texts.append(text)


async def test_slow_tablet_does_not_delay_the_others():
    hub = Hub(queue_limit=10)
    slow, _ = join(hub, DELEGATE)
    fast, _ = join(hub, OTHER_DELEGATE)
    slow.hold()

    hub.deliver([event(1), event(2), event(3)])
    await settle()

    assert fast.seqs() == [1, 2, 3]
    assert slow.seqs() == []


async def test_held_tablet_gets_its_queue_in_order_when_it_reads_again():
    hub = Hub(queue_limit=10)
    slow, _ = join(hub, DELEGATE)
    slow.hold()

    hub.deliver([event(1), event(2), event(3)])
    slow.gate.set()
    await settle()

    assert slow.seqs() == [1, 2, 3]


async def test_overflowing_queue_is_replaced_by_a_snapshot():
    async def snapshot(viewer: Viewer) -> tuple[int, str]:
        return 6, json.dumps({"type": "snapshot", "seq": 6})

    hub = Hub(queue_limit=2, snapshot=snapshot)
    slow, _ = join(hub, DELEGATE)
    slow.hold()

    hub.deliver([event(n) for n in range(1, 7)])
    slow.gate.set()
    await settle()
    hub.deliver([event(6), event(7)])
    await settle()

    assert [m["type"] for m in slow.received] == ["event", "snapshot", "event"]
    assert [m["seq"] for m in slow.received] == [1, 6, 7]
    assert hub.metrics.overflows_total == 1
    assert hub.metrics.snapshots_total == 1


async def test_reply_waits_behind_nothing_but_is_never_dropped():
    hub = Hub(queue_limit=1)
    slow, conn = join(hub, DELEGATE)
    slow.hold()
    hub.deliver([event(1), event(2), event(3)])

    conn.reply(json.dumps({"type": "ack", "id": "c1"}))
    conn.overflowed = False  # (no snapshot source here)
    slow.gate.set()
    await settle()

    assert {"type": "ack", "id": "c1"} in slow.received


async def test_silent_tablet_is_dropped_by_the_heartbeat_and_leaves_presence():
    hub = Hub()
    chair, _ = join(hub, CHAIR)
    silent, conn = join(hub, DELEGATE)
    conn.last_heard = time.monotonic() - 100

    dropped = hub.reap(heartbeat=15.0)
    await settle()
    hub.send_presence(1)

    assert dropped == 1
    assert silent.closed_with == 1001
    assert hub.connected_ids(1) == [1]
    assert chair.received[-1] == {"type": "presence", "meeting": 1, "connected": [1]}
    assert hub.metrics.dead_total == 1
    assert hub.metrics.connections == 1


async def test_tablet_whose_send_is_stuck_is_dropped():
    hub = Hub()
    stuck, conn = join(hub, DELEGATE)
    stuck.hold()
    hub.deliver([event(1)])
    conn.progress = time.monotonic() - SEND_TIMEOUT - 1

    hub.reap(heartbeat=15.0)

    assert conn.closed
    assert hub.metrics.stalled_total == 1
    assert hub.rooms == {}


async def test_heartbeat_pings_every_live_tablet():
    hub = Hub()
    delegate, _ = join(hub, DELEGATE)

    hub.reap(heartbeat=15.0)

    assert delegate.received == [{"type": "ping"}]


async def test_heartbeat_in_parts_pings_each_tablet_once_per_round_a_share_at_a_time():
    hub = Hub()
    tablets = [join(hub, Viewer(1, "delegate", 100 + i))[0] for i in range(9)]

    hub.reap(heartbeat=15.0, part=0, parts=3)
    first_share = sum(1 for t in tablets if t.received)
    hub.reap(heartbeat=15.0, part=1, parts=3)
    hub.reap(heartbeat=15.0, part=2, parts=3)

    assert first_share == 3
    assert all(t.received == [{"type": "ping"}] for t in tablets)


async def test_silent_tablet_is_dropped_in_its_share_of_the_heartbeat():
    hub = Hub()
    _, quiet = join(hub, DELEGATE)
    join(hub, OTHER_DELEGATE)
    quiet.last_heard = time.monotonic() - 100
    share = quiet.number % 2

    missed = hub.reap(heartbeat=15.0, part=1 - share, parts=2)
    found = hub.reap(heartbeat=15.0, part=share, parts=2)

    assert (missed, found) == (0, 1)
    assert hub.connected_ids(1) == [11]


async def test_presence_is_sent_to_staff_only():
    hub = Hub()
    chair, _ = join(hub, CHAIR)
    delegate, _ = join(hub, DELEGATE)

    hub.send_presence(1)

    assert chair.received == [{"type": "presence", "meeting": 1, "connected": [1, 10]}]
    assert delegate.received == []


async def test_connection_stays_quiet_until_its_catch_up_is_done():
    hub = Hub()
    tablet = Tablet()
    conn = hub.join(DELEGATE, tablet.send)

    hub.deliver([event(1), event(2)])
    conn.sent_seq = 1  # the catch-up sent event 1 itself
    conn.start()
    await settle()

    assert tablet.seqs() == [2]


def test_histogram_counts_into_cumulative_buckets():
    hist = Histogram(bounds=(0.01, 0.1))

    for value in (0.005, 0.05, 0.5):
        hist.observe(value)

    assert hist.cumulative() == [("0.01", 1), ("0.1", 2), ("+Inf", 3)]
    assert hist.count == 3


async def test_metrics_render_in_the_prometheus_text_format():
    hub = Hub()
    join(hub, DELEGATE)
    hub.deliver([event(1)], since=time.monotonic())

    text = render_metrics(hub, _Broker())

    assert "# TYPE plenary_connections gauge\nplenary_connections 1\n" in text
    assert "plenary_events_total 1\n" in text
    assert 'plenary_broadcast_seconds_bucket{le="+Inf"} 1\n' in text
    assert "plenary_broadcast_seconds_count 1\n" in text


class _Broker:
    gap_fills = 0

    def is_up(self) -> bool:
        return True


async def test_closing_a_person_says_why_closes_with_4401_and_forgets_their_tablets():
    hub = Hub()
    chair, _ = join(hub, CHAIR)
    first, _ = join(hub, DELEGATE)
    second, _ = join(hub, DELEGATE)
    other, _ = join(hub, OTHER_DELEGATE)
    goodbye = {"type": "error", "id": None, "message": "Your session has ended."}

    closed = await hub.close_person(1, 10, goodbye)
    hub.send_presence(1)
    await settle()

    assert closed == 2
    assert first.received[-1] == goodbye and second.received[-1] == goodbye
    assert (first.closed_with, second.closed_with, other.closed_with) == (4401, 4401, None)
    assert hub.connected_ids(1) == [1, 11]
    assert chair.received[-1] == {"type": "presence", "meeting": 1, "connected": [1, 11]}
    assert hub.metrics.connections == 2


async def test_closing_a_person_waits_for_a_slow_tablet_to_get_the_message():
    hub = Hub()
    slow, conn = join(hub, DELEGATE)
    slow.hold()
    hub.deliver([event(1)])

    closing = asyncio.ensure_future(hub.close_person(1, 10, {"type": "error"}))
    await settle()
    slow.gate.set()
    await closing

    assert [m["type"] for m in slow.received] == ["event", "error"]
    assert slow.closed_with == 4401 and conn.closed
