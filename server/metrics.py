"""Operating figures in the Prometheus text format, which monitoring systems read.

Rules:
- Counters only grow while the process lives; gauges say how things are now.
- Broadcast latency is a histogram of seconds from the moment an event reached
  this process's hub to the moment the last connected tablet was handed it.
- Nothing personal is exported: counts and timings only.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from typing import Any

# Seconds: from a millisecond up to what a tablet would notice as a hang.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Histogram:
    """Cumulative buckets, a sum and a count, as Prometheus expects them."""

    __slots__ = ("bounds", "counts", "total", "count")

    def __init__(self, bounds: Iterable[float] = LATENCY_BUCKETS) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)
        self.total = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value
        self.count += 1

    def cumulative(self) -> list[tuple[str, int]]:
        found, running = [], 0
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            running += count
            found.append(("+Inf" if bound == float("inf") else repr(bound), running))
        return found


def render_metrics(hub: Any, broker: Any) -> str:
    """The text exposition of the hub's and the broker's figures."""
    m = hub.metrics
    lines: list[str] = []
    _add(lines, "plenary_connections", "gauge", "Open tablet connections in this process.", m.connections)
    _add(lines, "plenary_meetings_live", "gauge", "Meetings with at least one connection in this process.", len(hub.rooms))
    _add(lines, "plenary_connects_total", "counter", "Connections accepted since start.", m.connects_total)
    _add(lines, "plenary_events_total", "counter", "Events handed to the hub since start.", m.events_total)
    _add(lines, "plenary_queue_overflows_total", "counter", "Queues dropped for a slow tablet (it got a snapshot).", m.overflows_total)
    _add(lines, "plenary_resyncs_total", "counter", "Reconnects caught up from missed events.", m.resyncs_total)
    _add(lines, "plenary_snapshots_total", "counter", "Snapshots sent (first load, too far behind, overflow).", m.snapshots_total)
    _add(lines, "plenary_dead_connections_total", "counter", "Connections dropped for missing heartbeats.", m.dead_total)
    _add(lines, "plenary_stalled_connections_total", "counter", "Connections dropped because a send made no progress.", m.stalled_total)
    _add(lines, "plenary_broker_gap_fills_total", "counter", "Events fetched from the database to fill a gap in the sequence.", broker.gap_fills)
    _add(lines, "plenary_broker_up", "gauge", "1 while the broker to the other processes is connected.", int(broker.is_up()))
    _histogram(lines, "plenary_broadcast_seconds", "Seconds from an event reaching the hub to the last tablet being handed it.", m.broadcast)
    return "\n".join(lines) + "\n"


def _add(lines: list[str], name: str, kind: str, help_text: str, value: float) -> None:
    lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", f"{name} {value}"]


def _histogram(lines: list[str], name: str, help_text: str, hist: Histogram) -> None:
    lines += [f"# HELP {name} {help_text}", f"# TYPE {name} histogram"]
    for bound, count in hist.cumulative():
        lines.append(f'{name}_bucket{{le="{bound}"}} {count}')
    lines += [f"{name}_sum {hist.total!r}", f"{name}_count {hist.count}"]
