"""Headless Chromium for the admin UI tests (Debian's /usr/bin/chromium; never downloaded).

Without Chromium the UI tests are skipped with the reason, except under ``CI=true``, where they
fail: CI must really drive a browser. Screenshots go to a temporary directory, and also to
``docs/screenshots/`` when ``STARGATE_UPDATE_SCREENSHOTS=1``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing (install Debian's chromium: make clients)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    require_chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield launched
        finally:
            launched.close()


class Screenshots:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.update = os.environ.get("STARGATE_UPDATE_SCREENSHOTS") == "1"

    def take(self, page: Page, name: str) -> Path:
        path = self.tmp / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 0
        if self.update:
            DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, DOCS_SCREENSHOTS / path.name)
        return path


@pytest.fixture
def screenshots(tmp_path: Path) -> Screenshots:
    return Screenshots(tmp_path)
