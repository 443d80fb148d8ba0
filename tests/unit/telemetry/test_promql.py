"""The test PromQL evaluator, and the seeds' four expressions over the Metrics exposition."""

from __future__ import annotations

import math

import pytest

from stargate.core import Usage
from stargate.telemetry import Metrics, RequestLabels
from tests.unit.telemetry.promql import (
    PromQLError,
    Scrape,
    Store,
    evaluate,
    metric_names,
    parse,
    substitute,
)

SEED_TOTAL_REQUESTS = "sum(litellm_proxy_total_requests_metric_total)"
SEED_TOKENS_BY_MODEL = "sum(litellm_total_tokens_metric_total) by (model)"
SEED_SPEND_BY_USER = "sum(litellm_spend_metric_total) by (user)"
SEED_P95 = "histogram_quantile(0.95, sum(rate(litellm_llm_api_latency_metric_bucket[5m])) by (le))"


def as_dict(result: object) -> dict[tuple[tuple[str, str], ...], float]:
    assert isinstance(result, list)
    return {tuple(sorted(labels.items())): value for labels, value in result}


def traffic(metrics: Metrics, model: str, user: str, count: int, latency: float) -> None:
    labels = RequestLabels(requested_model=model, model=f"bedrock-{model}", user=user)
    for _ in range(count):
        metrics.observe_success(labels, usage=Usage(100, 20), cost_micro=2_500,
                                upstream_s=latency, total_s=latency + 0.01)  # fmt: skip


def test_the_seed_expressions_over_two_scrapes_of_known_traffic() -> None:
    metrics = Metrics()
    # Before the first scrape: every series exists in both scrapes (a series born between them
    # has one sample in the window and no rate, as in Prometheus).
    traffic(metrics, "haiku", "ada", 4, 0.02)
    traffic(metrics, "haiku", "bob", 1, 0.02)
    traffic(metrics, "sonnet", "bob", 1, 3.0)
    first = Scrape(0.0, metrics.exposition().decode())
    traffic(metrics, "haiku", "ada", 60, 0.02)
    traffic(metrics, "haiku", "bob", 30, 0.02)
    traffic(metrics, "sonnet", "bob", 10, 3.0)
    metrics.record_failure(RequestLabels("sonnet", user="bob"), status=429,
                           exception_class="RateLimited")  # fmt: skip
    store = Store.of([first, Scrape(60.0, metrics.exposition().decode())])

    assert evaluate(SEED_TOTAL_REQUESTS, store, 60.0) == [({}, 107.0)]
    assert as_dict(evaluate(SEED_TOKENS_BY_MODEL, store, 60.0)) == {
        (("model", "bedrock-haiku"),): 95 * 120.0,
        (("model", "bedrock-sonnet"),): 11 * 120.0,
    }
    spend = as_dict(evaluate(SEED_SPEND_BY_USER, store, 60.0))
    assert spend.keys() == {(("user", "ada"),), (("user", "bob"),)}
    assert spend[(("user", "ada"),)] == pytest.approx(64 * 0.0025)
    assert spend[(("user", "bob"),)] == pytest.approx(42 * 0.0025)
    # In the window: 90 observations at 20 ms (le 0.025) and 10 at 3 s (le 5): rank 95 falls
    # halfway into the (2.5, 5] bucket.
    ((labels, p95),) = evaluate(SEED_P95, store, 60.0)  # type: ignore[misc]
    assert labels == {}
    assert p95 == pytest.approx(3.75)
    # At the first scrape alone there is no rate yet.
    assert evaluate(SEED_P95, store, 0.0) == []


def store_of(*scrapes: tuple[float, str]) -> Store:
    return Store.of(Scrape(t, text) for t, text in scrapes)


COUNTER = """# TYPE c counter
c_total{a="x",b="1"} {x1}
c_total{a="x",b="2"} {x2}
c_total{a="y",b="1"} {y1}
"""


def counters(x1: float, x2: float, y1: float) -> str:
    return COUNTER.replace("{x1}", str(x1)).replace("{x2}", str(x2)).replace("{y1}", str(y1))


def test_rate_increase_and_counter_resets() -> None:
    store = store_of((0, counters(10, 0, 5)), (30, counters(40, 3, 2)), (60, counters(70, 6, 8)))
    rates = as_dict(evaluate("rate(c_total[5m])", store, 60))
    assert rates[(("a", "x"), ("b", "1"))] == pytest.approx(1.0)
    assert rates[(("a", "y"), ("b", "1"))] == pytest.approx((2 + 6) / 60)  # reset at 30 s
    assert as_dict(evaluate("increase(c_total{b='2'}[5m])", store, 60)) == {
        (("a", "x"), ("b", "2")): 6.0
    }
    assert as_dict(evaluate("irate(c_total{a='x',b='1'}[5m])", store, 60)) == {
        (("a", "x"), ("b", "1")): 1.0
    }
    # A window holding one sample gives nothing.
    assert evaluate("rate(c_total[20s])", store, 60) == []


def test_aggregations_by_without_and_topk() -> None:
    store = store_of((0, counters(1, 2, 4)))
    assert as_dict(evaluate("sum by (a) (c_total)", store, 0)) == {
        (("a", "x"),): 3.0, (("a", "y"),): 4.0,
    }  # fmt: skip
    assert as_dict(evaluate("sum without (b) (c_total)", store, 0)) == {
        (("a", "x"),): 3.0, (("a", "y"),): 4.0,
    }  # fmt: skip
    assert evaluate("count(c_total)", store, 0) == [({}, 3.0)]
    assert evaluate("max(c_total)", store, 0) == [({}, 4.0)]
    assert evaluate("avg(c_total)", store, 0) == [({}, pytest.approx(7 / 3))]
    top = evaluate("topk(1, c_total)", store, 0)
    assert [v for _, v in top] == [4.0]  # type: ignore[union-attr]


def test_arithmetic_matching_and_comparisons() -> None:
    text = """# TYPE ok counter
ok_total{m="a"} 90
ok_total{m="b"} 10
# TYPE all counter
all_total{m="a"} 100
all_total{m="b"} 40
"""
    store = store_of((0, text))
    ratio = as_dict(evaluate("ok_total / all_total", store, 0))
    assert ratio == {(("m", "a"),): 0.9, (("m", "b"),): 0.25}
    assert as_dict(evaluate("1 - ok_total / all_total > 0.5", store, 0)) == {(("m", "b"),): 0.75}
    assert as_dict(evaluate("ok_total > bool 50", store, 0)) == {
        (("m", "a"),): 1.0, (("m", "b"),): 0.0,
    }  # fmt: skip
    assert evaluate("sum(ok_total) / sum(all_total) * 100", store, 0) == [
        ({}, pytest.approx(100 * 100 / 140))
    ]
    assert as_dict(evaluate("-ok_total{m='b'}", store, 0)) == {(("m", "b"),): -10.0}
    assert evaluate("2 ^ 3 * 2", store, 0) == 16.0
    either = as_dict(evaluate("ok_total or all_total{m='c'}", store, 0))
    assert sorted(dict(k)["m"] for k in either) == ["a", "b"]
    assert evaluate("time()", store, 42.0) == 42.0


def test_regex_matchers_and_lookback() -> None:
    store = store_of((0, counters(1, 2, 4)))
    assert len(evaluate('c_total{a=~"x|z", b!~"2"}', store, 0)) == 1  # type: ignore[arg-type]
    assert len(evaluate('c_total{a!="x"}', store, 0)) == 1  # type: ignore[arg-type]
    assert evaluate("c_total", store, 301) == []  # older than the five-minute lookback


def test_histogram_quantile_follows_prometheus() -> None:
    def buckets(**counts: float) -> str:
        lines = ["# TYPE h histogram"]
        for le, count in counts.items():
            bound = "+Inf" if le == "inf" else le.replace("_", ".")
            lines.append(f'h_bucket{{le="{bound}"}} {count}')
        lines.append("h_count 0\nh_sum 0")
        return "\n".join(lines) + "\n"

    store = store_of((0, buckets(**{"0_1": 0, "1_0": 10, "inf": 10})))
    ((_, median),) = evaluate("histogram_quantile(0.5, h_bucket)", store, 0)  # type: ignore[misc]
    assert median == pytest.approx(0.55)  # halfway through (0.1, 1]
    store = store_of((0, buckets(**{"0_1": 0, "1_0": 0, "inf": 4})))
    ((_, top),) = evaluate("histogram_quantile(0.9, h_bucket)", store, 0)  # type: ignore[misc]
    assert top == 1.0  # in the +Inf bucket: the highest finite bound
    store = store_of((0, buckets(**{"0_1": 0, "inf": 0})))
    ((_, empty),) = evaluate("histogram_quantile(0.9, h_bucket)", store, 0)  # type: ignore[misc]
    assert math.isnan(empty)


def test_metric_names_and_grafana_variables() -> None:
    expr = substitute(
        'sum(rate(a_total{model=~"$model"}[$__rate_interval])) / '
        'sum(increase(b_bucket{team="${team}"}[$__range]))',
        {"team": "platform"},
    )
    assert expr == (
        'sum(rate(a_total{model=~".*"}[5m])) / sum(increase(b_bucket{team="platform"}[1h]))'
    )
    assert metric_names(parse(expr)) == {"a_total", "b_bucket"}
    assert metric_names(parse('{__name__="c_total"}')) == {"c_total"}


@pytest.mark.parametrize("bad", ["sum(", "rate(x[5m]", "x{a=1}", "x{a~'b'}", "x y", "@"])
def test_malformed_expressions_are_refused(bad: str) -> None:
    with pytest.raises(PromQLError):
        parse(bad)
