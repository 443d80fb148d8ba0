"""Render a preview of each Grafana dashboard from real scraped data (dev only; needs matplotlib).

Grafana is neither in Debian nor on PyPI, so this draws the dashboards itself: it starts the
Bedrock emulator and a gateway process, sends a mix of traffic, scrapes ``/metrics`` every
couple of seconds, evaluates every panel's PromQL over the scrapes with the test suite's
evaluator (``tests/unit/telemetry/promql.py``) and lays the panels out as ``gridPos`` says.

Everything on the images is what the gateway reported: the traffic runs through virtual keys of
three teams and users with budgets (so the budget gauges move), the counters live in Redis (so
its latency is measured) and some requests are throttled by the emulator (so deployments go
through partial outage and cooldown).

    uv run --with matplotlib python deploy/grafana/preview/render.py --out docs/images
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

import httpx2 as httpx  # noqa: E402
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from tests.e2e.processes import MASTER_KEY, Gateway, run_emulator, run_gateway  # noqa: E402
from tests.unit.telemetry.promql import Scrape, Store, evaluate, substitute  # noqa: E402

BG, PANEL, TEXT, MUTED = "#111217", "#181b1f", "#ccccdc", "#8e8e9e"
COLORS = ["#73bf69", "#f2cc0c", "#8ab8ff", "#ff780a", "#f2495c", "#5794f2", "#b877d9", "#fade2a"]
RATE_INTERVAL = "20s"
NOTE = (
    "Every panel is evaluated over /metrics scraped from a gateway process (Redis counters, "
    "virtual keys with budgets) serving real traffic through the Bedrock emulator."
)
TEAMS = (("research", 5.0), ("platform", 3.0), ("ml-ops", 0.02))
USERS = (("ada", "research", 1.0), ("bob", "platform", 0.5), ("cy", "ml-ops", 0.01))


def admin(gateway: Gateway, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(gateway.admin_url + path, json=body, timeout=30,
                          headers={"Authorization": f"Bearer {MASTER_KEY}"})  # fmt: skip
    response.raise_for_status()
    data: dict[str, Any] = response.json()
    return data


def people(gateway: Gateway) -> list[str]:
    """Teams, users and one key each, every one with a monthly budget; returns the keys."""
    teams = {}
    for alias, budget in TEAMS:
        made = admin(gateway, "/team/new", {"team_alias": alias, "max_budget": budget,
                                            "budget_duration": "1mo"})  # fmt: skip
        teams[alias] = made["team_id"]
    keys = []
    for user, team, budget in USERS:
        admin(gateway, "/user/new", {"user_id": user, "max_budget": budget,
                                     "budget_duration": "1mo"})  # fmt: skip
        made = admin(gateway, "/key/generate", {"user_id": user, "team_id": teams[team],
                                                "key_alias": f"{user}-laptop",
                                                "max_budget": budget / 2})  # fmt: skip
        keys.append(made["key"])
    return keys


def traffic_round(url: str, n: int, keys: list[str]) -> None:
    plan = [
        ("model-cheap", "hello"), ("model-cheap", "[[fault:slow-first-byte=120]] hi"),
        ("claude-haiku-4-5", "[[fault:slow-first-byte=250]] summarise"),
        ("claude-sonnet-4-5", "[[fault:slow-first-byte=600]] think"),
        ("model-cheap", "[[fault:throttle]]" if n % 3 == 0 else "again"),
        ("claude-haiku-4-5", "[[fault:access-denied]]" if n % 5 == 0 else "more"),
    ]  # fmt: skip
    if n in (8, 16):  # a burst of throttling: more than allowed_fails (3) in a minute
        plan += [("model-cheap", "[[fault:throttle]]")] * 4
    for model, text in plan[: 3 + n % 4] + plan[6:]:
        for stream in (False, True) if model == "claude-haiku-4-5" else (False,):
            with httpx.Client(timeout=30) as client:
                client.post(
                    url + "/v1/chat/completions",
                    json={"model": model, "stream": stream,
                          "messages": [{"role": "user", "content": text}]},
                    headers={"Authorization": f"Bearer {random.choice(keys)}"},
                )  # fmt: skip


def collect(rounds: int, redis_url: str) -> list[Scrape]:
    scrapes = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        run_emulator(Path(tmp)) as emulator,
        run_gateway(emulator.url, Path(tmp), STARGATE_REDIS_URL=redis_url) as gateway,
    ):
        keys = people(gateway)
        for n in range(rounds):
            traffic_round(gateway.url, n, keys)
            text = httpx.get(gateway.url + "/metrics", timeout=10).text
            scrapes.append(Scrape(time.time(), text))
            time.sleep(1.0)
    return scrapes


def fmt(value: float, unit: str | None, decimals: int | None = None) -> str:
    if value != value:  # NaN
        return "NaN"
    match unit:
        case "currencyUSD":
            return f"${value:,.{decimals if decimals is not None else 2}f}"
        case "s":
            if value < 0.01:
                return f"{value * 1000:.1f} ms"
            return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
        case "percentunit":
            return f"{value * 100:.{decimals if decimals is not None else 1}f}%"
        case "reqps":
            return f"{value:.2f}/s"
        case "bytes":
            return f"{value / 1024:.1f} KiB" if value >= 1024 else f"{value:.0f} B"
        case "h":
            return f"{value:.1f} h"
        case "dateTimeAsIso":
            return datetime.fromtimestamp(value / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")
        case _:
            return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def legend(template: str, labels: dict[str, str]) -> str:
    if template in ("", "__auto"):
        return ", ".join(f"{k}={v}" for k, v in labels.items()) or "value"
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), template).strip()


def series(store: Store, expr: str, times: list[float]) -> dict[str, list[tuple[float, float]]]:
    out: dict[str, list[tuple[float, float]]] = {}
    for t in times:
        result = evaluate(expr, store, t)
        rows = [({}, result)] if isinstance(result, float) else result
        for labels, value in rows:
            if value == value:  # Grafana draws no point for NaN (an empty histogram window)
                out.setdefault(json.dumps(labels, sort_keys=True), []).append((t, value))
    return out


def draw_panel(ax: Any, panel: dict[str, Any], store: Store, times: list[float]) -> None:
    ax.set_facecolor(PANEL)
    for spine in ax.spines.values():
        spine.set_color("#2c3235")
    ax.set_title(panel["title"], color=TEXT, fontsize=9, loc="left", pad=4)
    ax.tick_params(colors=MUTED, labelsize=7)
    defaults = panel["fieldConfig"]["defaults"]
    unit, decimals = defaults.get("unit"), defaults.get("decimals")
    end = times[-1]
    exprs = [
        (substitute(t["expr"], rate_interval=RATE_INTERVAL, range_="1h"), t.get("legendFormat", ""))
        for t in panel["targets"]
    ]
    kind = panel["type"]
    if kind == "timeseries":
        color = 0
        for expr, template in exprs:
            for key, points in series(store, expr, times).items():
                xs = [p[0] - times[0] for p in points]
                ax.plot(xs, [p[1] for p in points], color=COLORS[color % len(COLORS)],
                        linewidth=1.4, label=legend(template, json.loads(key)))  # fmt: skip
                color += 1
        ax.set_xlabel("seconds", color=MUTED, fontsize=7)
        ax.grid(color="#2c3235", linewidth=0.5)
        ax.yaxis.set_major_formatter(lambda v, _: fmt(v, unit, decimals))
        if color:
            ax.legend(fontsize=6, facecolor=PANEL, edgecolor="#2c3235", labelcolor=TEXT,
                      loc="upper left")  # fmt: skip
        else:
            ax.text(0.5, 0.5, "No data", color=MUTED, ha="center", va="center",
                    transform=ax.transAxes)  # fmt: skip
        return
    ax.set_xticks([])
    ax.set_yticks([])
    rows = []
    for expr, template in exprs:
        result = evaluate(expr, store, end)
        for labels, value in [({}, result)] if isinstance(result, float) else result:
            if value == value:
                rows.append((legend(template, labels) or "(no label)", value))
    if not rows:
        ax.text(0.5, 0.5, "No data", color=MUTED, ha="center", va="center", transform=ax.transAxes)
        return
    if kind == "stat":
        ax.text(0.5, 0.45, fmt(rows[0][1], unit, decimals), color=COLORS[0], fontsize=22,
                ha="center", va="center", transform=ax.transAxes, weight="bold")  # fmt: skip
    elif kind == "bargauge":
        rows.sort(key=lambda r: r[1])
        top = max(abs(v) for _, v in rows) or 1.0
        for i, (name, value) in enumerate(rows):
            y = (i + 0.5) / len(rows)
            ax.barh(y, abs(value) / top * 0.6, height=0.7 / len(rows), left=0.28,
                    color=COLORS[i % len(COLORS)], transform=ax.transAxes)  # fmt: skip
            ax.text(0.26, y, name[:28], color=TEXT, fontsize=7, ha="right", va="center",
                    transform=ax.transAxes)  # fmt: skip
            ax.text(0.9, y, fmt(value, unit, decimals), color=TEXT, fontsize=7, ha="left",
                    va="center", transform=ax.transAxes)  # fmt: skip
        ax.set_xlim(0, 1)
    else:  # table
        for i, (name, value) in enumerate(rows):
            y = 0.85 - i * 0.12
            ax.text(0.05, y, name, color=TEXT, fontsize=8, transform=ax.transAxes)
            ax.text(0.55, y, fmt(value, unit, decimals), color=TEXT, fontsize=8,
                    transform=ax.transAxes)  # fmt: skip


def render(path: Path, store: Store, times: list[float], out: Path) -> Path:
    dashboard = json.loads(path.read_text())
    bottom = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in dashboard["panels"])
    unit_w, unit_h = 0.72, 0.42  # inches per grid column / row
    fig = plt.figure(figsize=(24 * unit_w, bottom * unit_h + 1.4), facecolor=BG)
    height = bottom * unit_h + 1.4
    fig.text(0.01, 1 - 0.35 / height, dashboard["title"], color=TEXT, fontsize=15, weight="bold")
    fig.text(0.01, 1 - 0.65 / height, dashboard["description"], color=MUTED, fontsize=9)
    note = "Preview rendered by deploy/grafana/preview/render.py. " + NOTE
    fig.text(0.01, 0.25 / height, note, color=MUTED, fontsize=7, wrap=True)
    top_margin = 0.9
    for panel in dashboard["panels"]:
        g = panel["gridPos"]
        left = g["x"] / 24 + 0.004
        width = g["w"] / 24 - 0.012
        y_top = 1 - (top_margin + g["y"] * unit_h) / height
        if panel["type"] == "row":
            fig.text(left, y_top - 0.2 / height, panel["title"], color=TEXT, fontsize=11,
                     weight="bold")  # fmt: skip
            continue
        h = (g["h"] * unit_h - 0.45) / height
        inset = 0.035 if panel["type"] == "timeseries" else 0.012
        ax = fig.add_axes((left + inset, y_top - h - 0.25 / height, width - inset - 0.004, h))
        draw_panel(ax, panel, store, times)
    target = out / f"grafana-{path.stem.removeprefix('stargate-')}.png"
    fig.savefig(target, dpi=80, facecolor=BG)
    plt.close(fig)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument("--rounds", type=int, default=24)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    scrapes = collect(args.rounds, args.redis_url)
    store = Store.of(scrapes)
    times = [s.time for s in scrapes]
    args.out.mkdir(parents=True, exist_ok=True)
    for path in sorted((ROOT / "deploy" / "grafana" / "dashboards").glob("*.json")):
        print(render(path, store, times, args.out))


if __name__ == "__main__":
    main()
