"""What the running bot counts, in Prometheus' text format (`GET /metrics`).

A tiny registry of our own (counters, gauges, histograms with labels, and collectors that
read the store at scrape time) rather than `prometheus_client`: the exposition format is
small and stable (version 0.0.4), the whole module is smaller than the client's import,
and the test suite parses our output with `prometheus_client`'s own parser, so the format
is checked by the reference implementation. Measured: README, "Operations".

The metrics are module-level, like loggers: they are facts about this process that
nothing reads to make a decision, so passing them around would add nothing. Each layer
counts its own work with one call (`INBOX_RECEIVED.inc(platform)`): the inbox (received,
acknowledged), the inbox worker (processed, reply latency), the outbox worker
(deliveries, failures, platform contact), the directory backends (calls, errors, time),
the knowledge library (answered, abstained), the ticket service (opened, SLA alerts).
Inbox and outbox depth and age are read from the store when scraped
(`bot.ops_http.store_gauges`).

Labels are fixed words (a platform, a backend, an error class name, a priority), never a
user, a message or an id: the series stay few, and nothing personal reaches the scraper.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

Labels = tuple[str, ...]


@dataclass(frozen=True)
class Sample:
    """One line of the exposition: a metric name, its labels, its value."""

    name: str
    labels: tuple[tuple[str, str], ...]
    value: float


@dataclass(frozen=True)
class Family:
    """One metric family as exposed: name, type, help and its samples."""

    name: str
    kind: str
    help: str
    samples: Sequence[Sample]


class _Metric:
    kind = "untyped"

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = ()) -> None:
        self.name = name
        self.help = help_text
        self.labels = tuple(labels)
        self._lock = threading.Lock()
        REGISTRY.add(self)

    def _key(self, values: Sequence[str]) -> Labels:
        if len(values) != len(self.labels):
            raise ValueError(f"{self.name} takes labels {self.labels}, got {tuple(values)}")
        return tuple(str(v) for v in values)

    def _pairs(
        self, key: Labels, extra: tuple[tuple[str, str], ...] = ()
    ) -> tuple[tuple[str, str], ...]:
        return (*zip(self.labels, key, strict=True), *extra)

    def family(self) -> Family:  # pragma: no cover - every kind overrides it
        raise NotImplementedError


class Counter(_Metric):
    """A count that only goes up (since the process started)."""

    kind = "counter"

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = ()) -> None:
        super().__init__(name, help_text, labels)
        self._values: dict[Labels, float] = {}

    def inc(self, *labels: str, by: float = 1.0) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + by

    def value(self, *labels: str) -> float:
        return self._values.get(self._key(labels), 0.0)

    def family(self) -> Family:
        with self._lock:
            items = sorted(self._values.items())
        if not self.labels and not items:
            items = [((), 0.0)]  # a counter without labels starts at 0
        samples = [Sample(self.name + "_total", self._pairs(k), v) for k, v in items]
        return Family(self.name, self.kind, self.help, samples)


class Gauge(_Metric):
    """A value that goes up and down, set by the code that knows it."""

    kind = "gauge"

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = ()) -> None:
        super().__init__(name, help_text, labels)
        self._values: dict[Labels, float] = {}

    def set(self, value: float, *labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = value

    def value(self, *labels: str) -> float | None:
        return self._values.get(self._key(labels))

    def family(self) -> Family:
        with self._lock:
            items = sorted(self._values.items())
        samples = [Sample(self.name, self._pairs(k), v) for k, v in items]
        return Family(self.name, self.kind, self.help, samples)


LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""Seconds: from a directory call (milliseconds) to a reply that waited for one (seconds)."""


class Histogram(_Metric):
    """Observations counted into cumulative buckets, with their sum and count."""

    kind = "histogram"

    def __init__(
        self,
        name: str,
        help_text: str,
        labels: Sequence[str] = (),
        buckets: Sequence[float] = LATENCY_BUCKETS,
    ) -> None:
        super().__init__(name, help_text, labels)
        self.buckets = tuple(sorted(buckets))
        self._counts: dict[Labels, list[int]] = {}
        self._sums: dict[Labels, float] = {}

    def observe(self, value: float, *labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            counts = self._counts.setdefault(key, [0] * (len(self.buckets) + 1))
            for i, bound in enumerate(self.buckets):
                if value <= bound:
                    counts[i] += 1
            counts[-1] += 1  # +Inf
            self._sums[key] = self._sums.get(key, 0.0) + value

    def count(self, *labels: str) -> int:
        counts = self._counts.get(self._key(labels))
        return counts[-1] if counts else 0

    @contextmanager
    def time(self, *labels: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.observe(time.perf_counter() - started, *labels)

    def family(self) -> Family:
        with self._lock:
            items = sorted((k, list(c), self._sums[k]) for k, c in self._counts.items())
        samples: list[Sample] = []
        for key, counts, total in items:
            for bound, count in zip((*self.buckets, math.inf), counts, strict=True):
                le = (("le", _number(bound)),)
                samples.append(Sample(self.name + "_bucket", self._pairs(key, le), count))
            samples.append(Sample(self.name + "_sum", self._pairs(key), total))
            samples.append(Sample(self.name + "_count", self._pairs(key), counts[-1]))
        return Family(self.name, self.kind, self.help, samples)


Collector = Callable[[], Iterable[Family]]


class Registry:
    """Every metric of the process, and the collectors that compute some at scrape time."""

    def __init__(self) -> None:
        self._metrics: dict[str, _Metric] = {}
        self._collectors: dict[str, Collector] = {}
        self._other: Callable[[], Sequence[Family]] = list

    def add(self, metric: _Metric) -> None:
        if metric.name in self._metrics:
            raise ValueError(f"metric {metric.name} is defined twice")
        self._metrics[metric.name] = metric

    def collect_with(self, name: str, collector: Collector) -> None:
        """Add (or replace) the collector called `name` (the store's depths); a collector
        that fails is left out of that scrape and counted (`helpdesk_scrape_errors_total`),
        never fails the scrape."""
        self._collectors[name] = collector

    def families(self) -> list[Family]:
        collected: list[Family] = []
        for collector in self._collectors.values():
            try:
                collected.extend(collector())
            except Exception:  # noqa: BLE001 - one broken collector must not hide the rest
                SCRAPE_ERRORS.inc()
        return _added(self.snapshot(), self._other()) + collected

    def snapshot(self) -> list[Family]:
        """This process's own counts (no collector): what the engine's process sends to
        the serving one."""
        return [m.family() for m in self._metrics.values()]

    def count_with(self, other: Callable[[], Sequence[Family]]) -> None:
        """Expose, added to this process's counts, the counters and histograms `other`
        gives (the engine's process, `bot.inbox.engine_process`)."""
        self._other = other

    def take_gauges(self, families: Sequence[Family]) -> None:
        """Set this process's gauges to the values another process sent (the latest wins)."""
        for family in families:
            gauge = self._metrics.get(family.name)
            if isinstance(gauge, Gauge):
                for sample in family.samples:
                    gauge.set(sample.value, *(v for _, v in sample.labels))

    def render(self) -> str:
        """The text exposition format, version 0.0.4."""
        lines: list[str] = []
        for family in self.families():
            lines.append(f"# HELP {family.name} {_escape_help(family.help)}")
            lines.append(f"# TYPE {family.name} {family.kind}")
            for sample in family.samples:
                labels = ",".join(f'{k}="{_escape_label(v)}"' for k, v in sample.labels)
                where = "{" + labels + "}" if labels else ""
                lines.append(f"{sample.name}{where} {_number(sample.value)}")
        return "\n".join(lines) + "\n"


CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _added(mine: Sequence[Family], other: Sequence[Family]) -> list[Family]:
    """`mine` with the counters and histograms of `other` added, sample by sample (gauges
    come through `take_gauges`)."""
    theirs = {f.name: f for f in other if f.kind in ("counter", "histogram")}
    added: list[Family] = []
    for family in mine:
        extra = theirs.get(family.name)
        if extra is None:
            added.append(family)
            continue
        values: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        for sample in (*family.samples, *extra.samples):
            key = (sample.name, sample.labels)
            values[key] = values.get(key, 0.0) + sample.value
        samples = [Sample(name, labels, v) for (name, labels), v in values.items()]
        added.append(Family(family.name, family.kind, family.help, samples))
    return added


def added_up(*snapshots: Sequence[Family]) -> list[Family]:
    """Several processes' counts as one (an engine's process that was restarted)."""
    total: list[Family] = []
    for snapshot in snapshots:
        total = _added(total, snapshot) if total else list(snapshot)
    return total


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    return repr(float(value)) if value != int(value) else str(int(value))


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _escape_label(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


REGISTRY = Registry()

# -- the metrics ----------------------------------------------------------------------------

SCRAPE_ERRORS = Counter("helpdesk_scrape_errors", "Collectors that failed during a scrape.")
STARTED = Gauge("helpdesk_start_time_seconds", "When this process started (Unix time).")
STARTED.set(time.time())

EVENTS_RECEIVED = Counter(
    "helpdesk_events_received",
    "Messages an adapter handed to the inbox (before storing).",
    ["platform"],
)
EVENTS_ACKED = Counter(
    "helpdesk_events_acked",
    "Messages the inbox stored (new) or recognised (duplicate): the adapter may acknowledge.",
    ["platform", "outcome"],
)
EVENTS_NOT_STORED = Counter(
    "helpdesk_events_not_stored",
    "Messages the inbox could not store (the adapter does not acknowledge; the platform resends).",
    ["platform"],
)
EVENTS_PROCESSED = Counter(
    "helpdesk_events_processed",
    "Stored messages the engine finished (ok) or that stay in the inbox (failed).",
    ["platform", "outcome"],
)
REPLY_LATENCY = Histogram(
    "helpdesk_reply_latency_seconds",
    "From a message stored in the inbox to its replies queued in the outbox.",
    ["platform"],
)
DELIVERIES = Counter(
    "helpdesk_deliveries", "Outbox messages delivered, by kind.", ["platform", "kind"]
)
DELIVERY_FAILURES = Counter(
    "helpdesk_delivery_failures",
    "Outbox sends that failed (retried later unless given up), by kind and reason class.",
    ["platform", "kind", "reason"],
)
DELIVERIES_GIVEN_UP = Counter(
    "helpdesk_deliveries_given_up", "Outbox messages given up on after their retries.", ["kind"]
)
PLATFORM_CONTACT = Gauge(
    "helpdesk_platform_last_contact_seconds",
    "When the platform last answered (outcome=ok) or could not be reached (outcome=failed).",
    ["platform", "outcome"],
)
DIRECTORY_CALLS = Counter("helpdesk_directory_calls", "Calls to a directory backend.", ["backend"])
DIRECTORY_ERRORS = Counter(
    "helpdesk_directory_errors",
    "Directory calls that failed, by backend and error (class name or HTTP status).",
    ["backend", "error"],
)
DIRECTORY_SECONDS = Histogram(
    "helpdesk_directory_seconds", "Time of one directory call.", ["backend"]
)
KB_QUESTIONS = Counter(
    "helpdesk_kb_questions",
    "Questions the knowledge base answered or abstained on (below kb.min_score).",
    ["outcome"],
)
TICKETS_OPENED = Counter("helpdesk_tickets_opened", "Tickets opened, by priority.", ["priority"])
SLA_ALERTS = Counter(
    "helpdesk_sla_alerts",
    "SLA alerts raised by the scan: kind at_risk or breached, clock response or resolution.",
    ["kind", "clock"],
)


@contextmanager
def directory_call(backend: str) -> Iterator[None]:
    """Count one directory call, its time, and its error if it raises (then re-raised)."""
    DIRECTORY_CALLS.inc(backend)
    started = time.perf_counter()
    try:
        yield
    except Exception as exc:
        DIRECTORY_ERRORS.inc(backend, type(exc).__name__)
        raise
    finally:
        DIRECTORY_SECONDS.observe(time.perf_counter() - started, backend)


def platform_contact(platform: str, ok: bool) -> None:
    """The platform answered (ok) or could not be reached: `/readyz` reads this."""
    PLATFORM_CONTACT.set(time.time(), platform, "ok" if ok else "failed")
