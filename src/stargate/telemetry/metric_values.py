"""The values of the per-request metric series: plain Python totals, folded into
prometheus_client when the registry is read.

prometheus_client takes a lock and checks that the metric has its labels on every update, and a
histogram walks its buckets in a Python loop; about a microsecond per update, and a request
makes some 25. Here, in a single process, an update is an addition to an attribute of a slotted
object (a histogram finds its bucket with :func:`bisect.bisect_left`, in C), and the totals are
written into the prometheus_client children they stand for when the registry is collected
(:class:`FoldingRegistry`: every scrape, and anything else that reads the registry). Each
fold writes the absolute totals, so folding again is harmless, and a scrape sees every update
made before it began: there is no delay.

Totals are kept in the unit the caller records in, divided by ``divisor`` only when folded:
money is counted in integer micro-USD and exported in USD, so the spend a scrape shows is the
exact sum of the micro-USD recorded, converted once.

Updates come from one thread (the event loop); a fold may run on another (the scrape runs off
the loop): it only reads the totals, and folds are serialised, so a scraped counter never goes
backwards.

In multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``) another worker's scrape reads this
worker's files, so nothing may wait for a fold: every update is written through to the child's
file-backed value, as prometheus_client's own ``inc``/``observe``/``set`` would write it, less
the per-call checks (the series is bound, the amounts are the gateway's own) and the Python loop
over a histogram's buckets.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics_core import Metric

__all__ = [
    "CounterSeries",
    "FoldingRegistry",
    "GaugeSeries",
    "HistogramSeries",
    "SeriesTable",
]


class CounterSeries(Protocol):
    def inc(self, amount: float = 1) -> None: ...


class GaugeSeries(Protocol):
    def set(self, value: float) -> None: ...

    def inc(self, amount: float = 1) -> None: ...

    def dec(self, amount: float = 1) -> None: ...


class HistogramSeries(Protocol):
    def observe(self, amount: float) -> None: ...


class _Folded(Protocol):
    def fold(self) -> None: ...


class _Counter:
    """A counter's running total, in 1/``divisor`` of the unit it exports."""

    __slots__ = ("_divisor", "_folded", "_target", "value")

    def __init__(self, child: Counter | Gauge, divisor: int) -> None:
        self._target: Any = child._value  # prometheus_client's value: set() when folded
        self._divisor = divisor
        self.value: float = 0
        self._folded: float = 0

    def inc(self, amount: float = 1) -> None:
        self.value += amount

    def fold(self) -> None:
        value = self.value
        if value != self._folded:
            self._target.set(value / self._divisor)
            self._folded = value


class _Gauge(_Counter):
    """A gauge's current value, in 1/``divisor`` of the unit it exports: a counter's total that
    may also be set or go down."""

    __slots__ = ()

    def set(self, value: float) -> None:
        self.value = value

    def dec(self, amount: float = 1) -> None:
        self.value -= amount


class _Histogram:
    """A histogram's per-bucket counts (not cumulative; prometheus_client's layout) and sum."""

    __slots__ = ("_bounds", "_buckets", "_folded", "_folded_sum", "_sum", "counts", "sum")

    def __init__(self, child: Histogram) -> None:
        self._bounds: tuple[float, ...] = tuple(child._upper_bounds)  # ends with +Inf
        self._buckets: list[Any] = child._buckets
        self._sum: Any = child._sum
        self.counts = [0] * len(self._bounds)
        self._folded = [0] * len(self._bounds)
        self.sum = 0.0
        self._folded_sum = 0.0

    def observe(self, amount: float) -> None:
        self.sum += amount
        if amount == amount:  # NaN: in no bucket, as prometheus_client does it
            self.counts[bisect_left(self._bounds, amount)] += 1  # first bound >= amount

    def fold(self) -> None:
        folded, buckets = self._folded, self._buckets
        for i, count in enumerate(self.counts):
            if count != folded[i]:
                buckets[i].set(float(count))
                folded[i] = count
        total = self.sum
        if total != self._folded_sum:
            self._sum.set(total)
            self._folded_sum = total


class _ThroughCounter:
    """Multiprocess mode: a counter written through on every update. A counter recorded in
    1/``divisor`` of its unit (money) keeps its integer total and writes the converted total
    (added to what the worker's file held for it when bound)."""

    __slots__ = ("_base", "_divisor", "_target", "value")

    def __init__(self, child: Counter, divisor: int) -> None:
        self._target: Any = child._value
        self._base: float = self._target.get()
        self._divisor = divisor
        self.value: float = 0

    def inc(self, amount: float = 1) -> None:
        if self._divisor == 1:
            self._target.inc(amount)
        else:
            self.value += amount
            self._target.set(self._base + self.value / self._divisor)


class _ThroughGauge:
    """Multiprocess mode: a gauge written through, in 1/``divisor`` of its unit, stamped with
    the time for the ``mostrecent`` modes (as ``Gauge.set`` does)."""

    __slots__ = ("_divisor", "_stamped", "_target")

    def __init__(self, child: Gauge, divisor: int) -> None:
        self._target: Any = child._value
        self._divisor = divisor
        self._stamped: bool = child._is_most_recent

    def set(self, value: float) -> None:
        if self._stamped:
            self._target.set(float(value / self._divisor), timestamp=time.time())
        else:
            self._target.set(float(value / self._divisor))

    def inc(self, amount: float = 1) -> None:
        self._target.inc(amount / self._divisor)

    def dec(self, amount: float = 1) -> None:
        self._target.inc(-amount / self._divisor)


class _ThroughHistogram:
    """Multiprocess mode: a histogram written through (its sum and the one bucket)."""

    __slots__ = ("_bounds", "_buckets", "_sum")

    def __init__(self, child: Histogram) -> None:
        self._bounds: tuple[float, ...] = tuple(child._upper_bounds)
        self._buckets: list[Any] = child._buckets
        self._sum: Any = child._sum

    def observe(self, amount: float) -> None:
        self._sum.inc(amount)
        if amount == amount:
            self._buckets[bisect_left(self._bounds, amount)].inc(1)


class SeriesTable:
    """The series recorded through this module, one per metric and label values, kept for the
    registry's life (like prometheus_client's children); ``deferred``: fold on read (single
    process), otherwise write through (multiprocess)."""

    def __init__(self, *, deferred: bool) -> None:
        self.deferred = deferred
        self._known: dict[tuple[object, tuple[str, ...]], object] = {}
        self._folded: list[_Folded] = []  # appended to by the recording thread only
        self._fold_lock = threading.Lock()

    def counter(self, metric: Counter, values: Sequence[str] = (), *, divisor: int = 1
                ) -> CounterSeries:  # fmt: skip
        kind = _Counter if self.deferred else _ThroughCounter
        found: CounterSeries = self._series(metric, values, lambda child: kind(child, divisor))
        return found

    def gauge(self, metric: Gauge, values: Sequence[str] = (), *, divisor: int = 1
              ) -> GaugeSeries:  # fmt: skip
        kind = _Gauge if self.deferred else _ThroughGauge
        found: GaugeSeries = self._series(metric, values, lambda child: kind(child, divisor))
        return found

    def histogram(self, metric: Histogram, values: Sequence[str] = ()) -> HistogramSeries:
        kind = _Histogram if self.deferred else _ThroughHistogram
        found: HistogramSeries = self._series(metric, values, kind)
        return found

    def _series(self, metric: Any, values: Sequence[str], make: Callable[[Any], Any]) -> Any:
        key = (metric, tuple(values))
        found = self._known.get(key)
        if found is None:
            found = self._known[key] = make(metric.labels(*values) if values else metric)
            if self.deferred:
                self._folded.append(found)
        return found

    def fold(self) -> None:
        """Write every deferred total into its prometheus_client child."""
        with self._fold_lock:
            for series in self._folded[:]:  # a copy: the loop thread may append meanwhile
                series.fold()


class FoldingRegistry(CollectorRegistry):
    """A registry that calls ``before_collect`` (the fold) before every collection."""

    def __init__(self, before_collect: Callable[[], None]) -> None:
        super().__init__(auto_describe=False)
        self._before_collect = before_collect

    def collect(self) -> Iterable[Metric]:
        self._before_collect()
        yield from super().collect()
