"""Browser tests: Playwright driving Debian's Chromium against the live test server.

Without Chromium they are skipped with a reason, except in CI (DEFIS_REQUIRE_BROWSER=1),
where a missing browser is a failure.
"""

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "e2e"

# Playwright's sync API runs an event loop in the test thread; the live server runs Django in
# another thread, so database access from the test thread is safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(config, items):
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("DEFIS_REQUIRE_BROWSER") == "1":
        raise pytest.UsageError(
            f"Browser tests need Chromium at {CHROMIUM}: apt-get install chromium"
        )
    skip = pytest.mark.skip(reason="Chromium is not installed (apt-get install chromium)")
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture
def page(page):
    page.set_default_timeout(5000)
    return page


@pytest.fixture
def screenshot(page):
    """Save a full-page screenshot under test-output/e2e/ for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str):
        page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)

    return take
