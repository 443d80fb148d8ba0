"""The admin UI in headless Chromium against a real gateway: sign in, create a team, a user
and a key, use the key through the public API, find the request in the spend logs and the
overview chart, block the key and see the API refuse it, sign out."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import openai
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.processes import Emulator, Gateway, run_gateway
from tests.e2e.ui_browser import Screenshots, browser, screenshots  # noqa: F401

pytestmark = pytest.mark.e2e

DEADLINE = 60.0  # polling bound for asynchronous effects (the ledger's batches, key caches)


def eventually(check: Callable[[], bool], what: str) -> None:
    """Poll ``check`` until it holds; fail with ``what`` if it never does."""
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        if check():
            return
        time.sleep(0.25)
    raise AssertionError(f"never happened: {what}")


@pytest.fixture
def gateway(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A gateway of its own: the overview's totals count this test's requests only."""
    with run_gateway(emulator.url, tmp_path_factory.mktemp("ui-flow")) as running:
        yield running


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield page
    context.close()
    # A CSP violation or a script error shows up on the console.
    assert errors == []


def test_admin_flow_from_sign_in_to_sign_out(
    page: Page,
    gateway: Gateway,
    screenshots: Screenshots,  # noqa: F811
) -> None:
    ui = gateway.admin_url + "/ui"
    page.goto(ui + "/")
    expect(page).to_have_url(ui + "/login")
    screenshots.take(page, "login")
    page.get_by_label("Password or master key").fill(gateway.master_key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()

    # A team with a monthly budget.
    page.locator("header.top").get_by_role("link", name="Teams", exact=True).click()
    page.get_by_label("Team name").fill("ui-team")
    page.get_by_label("Budget (USD)").fill("5")
    page.get_by_label("Budget resets every").fill("1mo")
    page.get_by_role("button", name="Create team").click()
    expect(page.get_by_role("heading", name="Team ui-team")).to_be_visible()
    expect(page.get_by_text("The team is created.")).to_be_visible()
    team_id = page.url.rsplit("/", 1)[-1].split("?")[0]

    # A user in that team.
    page.locator("header.top").get_by_role("link", name="Users", exact=True).click()
    page.get_by_label("Email").last.fill("ada@example.com")
    page.get_by_label("User id").fill("ada")
    page.locator("form[action='/ui/users/new'] select[name=team_id]").select_option(team_id)
    page.get_by_role("button", name="Add user").click()
    expect(page.get_by_text("The user is created.")).to_be_visible()
    expect(page.get_by_role("link", name="ada", exact=True)).to_be_visible()
    screenshots.take(page, "users")

    # A key for the user in the team, with a daily budget; shown once.
    page.locator("header.top").get_by_role("link", name="Keys", exact=True).click()
    create = page.locator("form[action='/ui/keys/new']")
    create.get_by_label("Alias").fill("ui-key")
    create.locator("select[name=user_id]").select_option("ada")
    create.locator("select[name=team_id]").select_option(team_id)
    create.get_by_label("Budget (USD)").fill("1")
    create.get_by_label("Budget resets every").fill("1d")
    create.get_by_role("button", name="Create key").click()
    expect(page.get_by_role("heading", name="Your new key")).to_be_visible()
    secret = page.locator("#new-key").inner_text().strip()
    assert secret.startswith("sk-")
    expect(page.get_by_role("button", name="Copy")).to_be_visible()

    # The key works through the public API.
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key=secret, max_retries=0)
    reply = client.chat.completions.create(
        model="claude-haiku-4-5", messages=[{"role": "user", "content": "Hi"}], max_tokens=20
    )
    assert reply.choices[0].message.content

    # The request shows in the spend logs (the ledger writes in batches: poll).
    def logged() -> bool:
        page.goto(ui + "/logs?key=ui-key")
        return page.locator("#log-rows tbody tr").count() == 1

    eventually(logged, "the request in the spend logs")
    row = page.locator("#log-rows tbody tr").first
    expect(row).to_contain_text("claude-haiku-4-5")
    expect(row).to_contain_text("ada")
    expect(row).to_contain_text("success")
    screenshots.take(page, "spend-logs")
    row.get_by_role("link").click()
    expect(page.get_by_role("heading", name="Request")).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text("claude-haiku-4-5")

    # ... and in the overview: the totals and the chart's data, drawn by uPlot.
    page.goto(ui + "/")
    expect(page.locator("#total-requests")).to_have_text("1")
    chart = json.loads(page.locator("#chart").get_attribute("data-chart") or "{}")
    assert sum(chart["requests"]) == 1
    assert sum(chart["spend"]) > 0
    expect(page.locator("#chart-spend canvas")).to_have_count(1)
    expect(page.locator("#chart-requests canvas")).to_have_count(1)
    expect(page.get_by_role("cell", name="claude-haiku-4-5")).to_be_visible()
    screenshots.take(page, "overview")

    # Budgets: the key, the user's team and the team with their windows.
    page.locator("header.top").get_by_role("link", name="Budgets", exact=True).click()
    expect(page.get_by_role("link", name="ui-key")).to_be_visible()
    expect(page.get_by_role("link", name="ui-team")).to_be_visible()
    screenshots.take(page, "budgets")

    # Block the key: the API refuses it.
    page.locator("header.top").get_by_role("link", name="Keys", exact=True).click()
    screenshots.take(page, "keys")
    page.get_by_role("link", name="sk-", exact=False).first.click()
    page.get_by_role("button", name="Block").click()
    expect(page.get_by_text("The key is blocked")).to_be_visible()

    def refused() -> bool:
        try:
            client.chat.completions.create(
                model="claude-haiku-4-5", messages=[{"role": "user", "content": "Hi"}], max_tokens=5
            )
        except (openai.AuthenticationError, openai.PermissionDeniedError):
            return True
        return False

    eventually(refused, "the blocked key refused by the API")

    # Sign out: the pages are gone with the session.
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    page.goto(ui + "/keys")
    expect(page).to_have_url(ui + "/login")
