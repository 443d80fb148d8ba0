"""A small PromQL evaluator over scraped ``/metrics`` texts, for tests and dashboard previews.

It parses the subset Grafana dashboards for a gateway use, and evaluates it at an instant over a
series of scrapes taken at known times (a miniature Prometheus TSDB):

* selectors with ``=``, ``!=``, ``=~``, ``!~`` matchers, range selectors (``[5m]``);
* ``rate``, ``irate``, ``increase``, ``delta``, ``histogram_quantile``, ``clamp_min``,
  ``clamp_max``, ``abs``, ``round``, ``time``, ``vector``, ``scalar``;
* ``sum``, ``avg``, ``min``, ``max``, ``count``, ``topk``, ``bottomk`` with ``by``/``without``
  (before or after the argument);
* arithmetic and comparisons (with ``bool``), ``and``/``or``/``unless``, one-to-one vector
  matching with ``on``/``ignoring``, unary minus, parentheses.

Semantics follow Prometheus, with one simplification: ``rate`` and ``increase`` use the first and
last sample in the window and do not extrapolate to the window's edges (for two scrapes, the rate
is the difference over the time between them). ``histogram_quantile`` is Prometheus' algorithm.
The instant lookback is five minutes, as in Prometheus.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

__all__ = [
    "Node",
    "PromQLError",
    "Scrape",
    "Store",
    "evaluate",
    "metric_names",
    "parse",
    "substitute",
]

LOOKBACK = 300.0
Labels = tuple[tuple[str, str], ...]  # sorted, __name__ included for raw series
Vector = list[tuple[dict[str, str], float]]
Value = float | Vector


class PromQLError(ValueError):
    pass


# --- storage -------------------------------------------------------------------------------------


@dataclass
class Scrape:
    time: float
    text: str


@dataclass
class Store:
    """Every sample of every scrape, by series."""

    series: dict[Labels, list[tuple[float, float]]] = field(default_factory=dict)

    @classmethod
    def of(cls, scrapes: Iterable[Scrape]) -> Store:
        store = cls()
        for scrape in sorted(scrapes, key=lambda s: s.time):
            store.add(scrape)
        return store

    def add(self, scrape: Scrape) -> None:
        for family in text_string_to_metric_families(scrape.text):
            for sample in family.samples:
                key = tuple(sorted({**sample.labels, "__name__": sample.name}.items()))
                self.series.setdefault(key, []).append((scrape.time, float(sample.value)))


# --- parsing -------------------------------------------------------------------------------------


@dataclass
class Node:
    kind: str  # number, string, selector, call, agg, binary, neg
    value: float = 0.0
    text: str = ""  # metric name, function, aggregation or operator
    matchers: list[tuple[str, str, str]] = field(default_factory=list)
    range_s: float | None = None
    args: list[Node] = field(default_factory=list)
    grouping: list[str] | None = None
    without: bool = False
    bool_: bool = False
    on: list[str] | None = None
    ignoring: list[str] | None = None


_TOKEN = re.compile(
    r"""\s*(?:
    (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[Ii]nf|NaN)(?![A-Za-z_:])
  | (?P<duration>\[\s*\d+[smhdwy]\s*\])
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
  | (?P<op>=~|!~|==|!=|>=|<=|[-+*/%^<>=(){},])
    )""",
    re.VERBOSE,
)
_AGGREGATIONS = {"sum", "avg", "min", "max", "count", "topk", "bottomk"}
_PRECEDENCE = {
    "or": 1, "and": 2, "unless": 2, "==": 3, "!=": 3, "<": 3, ">": 3, "<=": 3, ">=": 3,
    "+": 4, "-": 4, "*": 5, "/": 5, "%": 5, "^": 6,
}  # fmt: skip
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise PromQLError(f"cannot parse {text[pos:]!r}")
        kind = match.lastgroup
        assert kind is not None
        out.append((kind, match.group(kind)))
        pos = match.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.i = 0

    def peek(self, offset: int = 0) -> tuple[str, str]:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else ("end", "")

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if value is not None and token[1] != value:
            raise PromQLError(f"expected {value!r}, found {token[1]!r}")
        self.i += 1
        return token

    def expression(self, min_prec: int = 1) -> Node:
        left = self.unary()
        while True:
            kind, op = self.peek()
            prec = _PRECEDENCE.get(op) if kind in ("op", "ident") else None
            if prec is None or prec < min_prec:
                return left
            self.take()
            node = Node("binary", text=op, args=[left])
            if self.peek()[1] == "bool":
                self.take()
                node.bool_ = True
            if self.peek()[1] in ("on", "ignoring"):
                which = self.take()[1]
                setattr(node, which, self.label_list())
            right = self.expression(prec + (0 if op == "^" else 1))
            node.args.append(right)
            left = node

    def unary(self) -> Node:
        if self.peek()[1] in ("-", "+"):
            sign = self.take()[1]
            operand = self.expression(6)
            return Node("neg", args=[operand]) if sign == "-" else operand
        return self.primary()

    def label_list(self) -> list[str]:
        self.take("(")
        labels = []
        while self.peek()[1] != ")":
            labels.append(self.take()[1])
            if self.peek()[1] == ",":
                self.take()
        self.take(")")
        return labels

    def primary(self) -> Node:
        kind, text = self.peek()
        if kind == "number":
            self.take()
            return Node("number", value=float(text))
        if kind == "string":
            self.take()
            return Node("string", text=text[1:-1])
        if text == "(":
            self.take()
            inner = self.expression()
            self.take(")")
            return self.range_suffix(inner)
        if kind == "ident" and text in _AGGREGATIONS and self.peek(1)[1] in ("(", "by", "without"):
            return self.aggregation()
        if kind == "ident" and self.peek(1)[1] == "(":
            self.take()
            self.take("(")
            args = []
            while self.peek()[1] != ")":
                args.append(self.expression())
                if self.peek()[1] == ",":
                    self.take()
            self.take(")")
            return Node("call", text=text, args=args)
        if kind == "ident" or text == "{":
            return self.selector()
        raise PromQLError(f"unexpected {text!r}")

    def aggregation(self) -> Node:
        node = Node("agg", text=self.take()[1])
        if self.peek()[1] in ("by", "without"):
            node.without = self.take()[1] == "without"
            node.grouping = self.label_list()
        self.take("(")
        node.args.append(self.expression())
        if self.peek()[1] == ",":
            self.take()
            node.args.append(self.expression())
        self.take(")")
        if self.peek()[1] in ("by", "without"):
            node.without = self.take()[1] == "without"
            node.grouping = self.label_list()
        return node

    def selector(self) -> Node:
        node = Node("selector")
        if self.peek()[0] == "ident":
            node.text = self.take()[1]
        if self.peek()[1] == "{":
            self.take()
            while self.peek()[1] != "}":
                name = self.take()[1]
                op = self.take()[1]
                if op not in ("=", "!=", "=~", "!~"):
                    raise PromQLError(f"bad matcher operator {op!r}")
                value = self.take()
                if value[0] != "string":
                    raise PromQLError("a matcher value must be a string")
                node.matchers.append((name, op, value[1][1:-1]))
                if self.peek()[1] == ",":
                    self.take()
            self.take("}")
        return self.range_suffix(node)

    def range_suffix(self, node: Node) -> Node:
        if self.peek()[0] == "duration":
            text = self.take()[1].strip("[] ")
            node.range_s = float(text[:-1]) * _UNITS[text[-1]]
        return node


def parse(text: str) -> Node:
    parser = _Parser(text)
    node = parser.expression()
    if parser.peek()[0] != "end":
        raise PromQLError(f"unexpected {parser.peek()[1]!r} after the expression")
    return node


def metric_names(node: Node) -> set[str]:
    """Every metric name a parsed expression selects."""
    names = {node.text} if node.kind == "selector" and node.text else set()
    for name, op, value in node.matchers:
        if name == "__name__" and op == "=":
            names.add(value)
    for arg in node.args:
        names |= metric_names(arg)
    return names


def substitute(
    expr: str,
    variables: Mapping[str, str] | None = None,
    *,
    rate_interval: str = "5m",
    range_: str = "1h",
) -> str:
    """Grafana's variables: ``$__rate_interval``, ``$__interval``, ``$__range`` and template
    variables (``$name`` / ``${name}``; a missing one, as Grafana's "All", becomes ``.*``)."""
    variables = variables or {}
    expr = expr.replace("$__rate_interval", rate_interval).replace("$__interval", rate_interval)
    expr = expr.replace("$__range", range_)

    def value(match: re.Match[str]) -> str:
        return variables.get(match.group(1) or match.group(2), ".*")

    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", value, expr)


# --- evaluation ----------------------------------------------------------------------------------


def _matches(labels: Mapping[str, str], matchers: Sequence[tuple[str, str, str]]) -> bool:
    for name, op, want in matchers:
        have = labels.get(name, "")
        match op:
            case "=":
                ok = have == want
            case "!=":
                ok = have != want
            case "=~":
                ok = re.fullmatch(want, have) is not None
            case _:
                ok = re.fullmatch(want, have) is None
        if not ok:
            return False
    return True


def _drop_name(labels: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in labels.items() if k != "__name__"}


class _Evaluator:
    def __init__(self, store: Store, at: float) -> None:
        self.store = store
        self.at = at

    def series(self, node: Node) -> Iterable[tuple[dict[str, str], list[tuple[float, float]]]]:
        matchers = list(node.matchers)
        if node.text:
            matchers.append(("__name__", "=", node.text))
        for key, points in self.store.series.items():
            labels = dict(key)
            if _matches(labels, matchers):
                yield labels, points

    def instant(self, node: Node) -> Vector:
        out: Vector = []
        for labels, points in self.series(node):
            recent = [v for t, v in points if self.at - LOOKBACK < t <= self.at]
            if recent:
                out.append((labels, recent[-1]))
        return out

    def window(self, node: Node) -> list[tuple[dict[str, str], list[tuple[float, float]]]]:
        if node.kind != "selector" or node.range_s is None:
            raise PromQLError("a range vector is needed here")
        start = self.at - node.range_s
        return [
            (labels, [(t, v) for t, v in points if start < t <= self.at])
            for labels, points in self.series(node)
        ]

    def eval(self, node: Node) -> Value:
        match node.kind:
            case "number":
                return node.value
            case "selector":
                if node.range_s is not None:
                    raise PromQLError("a range vector cannot be the result")
                return self.instant(node)
            case "neg":
                return self.binary("*", -1.0, self.eval(node.args[0]), node)
            case "binary":
                return self.binary(node.text, self.eval(node.args[0]), self.eval(node.args[1]),
                                   node)  # fmt: skip
            case "agg":
                return self.aggregate(node)
            case "call":
                return self.call(node)
            case _:
                raise PromQLError(f"cannot evaluate a {node.kind}")

    def vector(self, node: Node) -> Vector:
        value = self.eval(node)
        if isinstance(value, float):
            raise PromQLError("an instant vector is needed here")
        return value

    def scalar(self, node: Node) -> float:
        value = self.eval(node)
        if not isinstance(value, float):
            raise PromQLError("a scalar is needed here")
        return value

    def call(self, node: Node) -> Value:
        name, args = node.text, node.args
        match name:
            case "rate" | "increase" | "irate" | "delta":
                return self.over_window(name, args[0])
            case "histogram_quantile":
                return _histogram_quantile(self.scalar(args[0]), self.vector(args[1]))
            case "clamp_min" | "clamp_max":
                bound = self.scalar(args[1])
                pick = max if name == "clamp_min" else min
                return [(_drop_name(ls), pick(v, bound)) for ls, v in self.vector(args[0])]
            case "abs":
                return [(_drop_name(ls), abs(v)) for ls, v in self.vector(args[0])]
            case "round":
                return [(_drop_name(ls), float(round(v))) for ls, v in self.vector(args[0])]
            case "time":
                return self.at
            case "vector":
                return [({}, self.scalar(args[0]))]
            case "scalar":
                vector = self.vector(args[0])
                return vector[0][1] if len(vector) == 1 else math.nan
            case _:
                raise PromQLError(f"unknown function {name}()")

    def over_window(self, name: str, arg: Node) -> Vector:
        out: Vector = []
        for labels, points in self.window(arg):
            if len(points) < 2:
                continue
            if name == "delta":
                out.append((_drop_name(labels), points[-1][1] - points[0][1]))
                continue
            used = points[-2:] if name == "irate" else points
            increase, previous = 0.0, used[0][1]
            for _, v in used[1:]:
                increase += v - previous if v >= previous else v  # a reset starts from zero
                previous = v
            seconds = used[-1][0] - used[0][0]
            result = increase if name == "increase" else increase / seconds
            out.append((_drop_name(labels), result))
        return out

    def aggregate(self, node: Node) -> Vector:
        vector = self.vector(node.args[-1])
        param = self.scalar(node.args[0]) if len(node.args) == 2 else None
        groups: dict[tuple[tuple[str, str], ...], list[tuple[dict[str, str], float]]] = defaultdict(
            list
        )
        for labels, v in vector:
            labels = _drop_name(labels)
            if node.grouping is None:
                key: dict[str, str] = {}
            elif node.without:
                key = {k: x for k, x in labels.items() if k not in node.grouping}
            else:
                key = {k: labels[k] for k in node.grouping if labels.get(k, "")}
            groups[tuple(sorted(key.items()))].append((labels, v))
        out: Vector = []
        for key, members in groups.items():
            values = [v for _, v in members]
            match node.text:
                case "sum":
                    out.append((dict(key), math.fsum(values)))
                case "avg":
                    out.append((dict(key), math.fsum(values) / len(values)))
                case "min":
                    out.append((dict(key), min(values)))
                case "max":
                    out.append((dict(key), max(values)))
                case "count":
                    out.append((dict(key), float(len(values))))
                case "topk" | "bottomk":
                    assert param is not None
                    ranked = sorted(members, key=lambda m: m[1], reverse=node.text == "topk")
                    out.extend(ranked[: int(param)])
        return out

    def binary(self, op: str, left: Value, right: Value, node: Node) -> Value:
        if op in ("and", "or", "unless"):
            return _set_op(op, _as_vector(left), _as_vector(right), node)
        apply = _ARITHMETIC.get(op)
        compare = _COMPARISON.get(op)
        if isinstance(left, float) and isinstance(right, float):
            if apply is not None:
                return apply(left, right)
            assert compare is not None
            return float(compare(left, right))
        if isinstance(left, float) or isinstance(right, float):
            out: Vector = []
            vector = right if isinstance(left, float) else left
            assert not isinstance(vector, float)
            for labels, v in vector:
                a, b = (left, v) if isinstance(left, float) else (v, right)
                assert isinstance(a, float)
                assert isinstance(b, float)
                out.extend(_combine(op, _drop_name(labels), v, a, b, node.bool_))
            return out
        matched: Vector = []
        index = {_match_key(ls, node): (ls, v) for ls, v in right}
        for labels, v in left:
            other = index.get(_match_key(labels, node))
            if other is None:
                continue
            result_labels = _drop_name(labels)
            if node.on is not None:
                result_labels = {k: x for k, x in result_labels.items() if k in node.on}
            matched.extend(_combine(op, result_labels, v, v, other[1], node.bool_))
        return matched


_ARITHMETIC: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b if b else (math.nan if a == 0 else math.copysign(math.inf, a)),
    "%": lambda a, b: math.fmod(a, b) if b else math.nan,
    "^": lambda a, b: a**b,
}
_COMPARISON: dict[str, Callable[[float, float], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
}


def _combine(
    op: str, labels: dict[str, str], sample: float, a: float, b: float, bool_: bool
) -> Vector:
    apply = _ARITHMETIC.get(op)
    if apply is not None:
        return [(labels, apply(a, b))]
    holds = _COMPARISON[op](a, b)
    if bool_:
        return [(labels, float(holds))]
    return [(labels, sample)] if holds else []


def _as_vector(value: Value) -> Vector:
    if isinstance(value, float):
        raise PromQLError("set operators need instant vectors")
    return value


def _match_key(labels: Mapping[str, str], node: Node) -> tuple[tuple[str, str], ...]:
    plain = _drop_name(labels)
    if node.on is not None:
        plain = {k: v for k, v in plain.items() if k in node.on}
    elif node.ignoring is not None:
        plain = {k: v for k, v in plain.items() if k not in node.ignoring}
    return tuple(sorted((k, v) for k, v in plain.items() if v))


def _set_op(op: str, left: Vector, right: Vector, node: Node) -> Vector:
    keys = {_match_key(ls, node) for ls, _ in right}
    if op == "and":
        return [(ls, v) for ls, v in left if _match_key(ls, node) in keys]
    if op == "unless":
        return [(ls, v) for ls, v in left if _match_key(ls, node) not in keys]
    left_keys = {_match_key(ls, node) for ls, _ in left}
    return left + [(ls, v) for ls, v in right if _match_key(ls, node) not in left_keys]


def _histogram_quantile(q: float, vector: Vector) -> Vector:
    groups: dict[tuple[tuple[str, str], ...], list[tuple[float, float]]] = defaultdict(list)
    for labels, v in vector:
        rest = {k: x for k, x in _drop_name(labels).items() if k != "le"}
        groups[tuple(sorted(rest.items()))].append((float(labels["le"]), v))
    out: Vector = []
    for key, buckets in groups.items():
        out.append((dict(key), _bucket_quantile(q, sorted(buckets))))
    return out


def _bucket_quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    """Prometheus' ``bucketQuantile`` (promql/quantile.go)."""
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    if len(buckets) < 2 or not math.isinf(buckets[-1][0]):
        return math.nan
    counts = []  # monotonic, as Prometheus forces it
    for _, count in buckets:
        counts.append(max(count, counts[-1]) if counts else count)
    observations = counts[-1]
    if observations == 0:
        return math.nan
    rank = q * observations
    b = next(i for i, c in enumerate([*counts[:-1], math.inf]) if c >= rank)
    if b == len(buckets) - 1:
        return buckets[-2][0]
    if b == 0 and buckets[0][0] <= 0:
        return buckets[0][0]
    start = 0.0 if b == 0 else buckets[b - 1][0]
    end = buckets[b][0]
    count = counts[b]
    if b > 0:
        count -= counts[b - 1]
        rank -= counts[b - 1]
    return start + (end - start) * (rank / count)


def evaluate(expr: str | Node, store: Store, at: float) -> Value:
    """The value of ``expr`` at time ``at``: a float (scalar) or ``[(labels, value), ...]``."""
    node = parse(expr) if isinstance(expr, str) else expr
    return _Evaluator(store, at).eval(node)
