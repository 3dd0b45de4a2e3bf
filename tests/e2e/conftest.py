"""Browser tests: Playwright driving Debian's Chromium against the live test server.

Without Chromium they are skipped with a reason, except in CI (DEFIS_REQUIRE_BROWSER=1),
where a missing browser is a failure. The same goes for axe-core (`npm ci`, run by `make
install`), which the accessibility check injects into the pages.
"""

import os
import shutil
from pathlib import Path

import pytest

from tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = ROOT / "test-output" / "e2e"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"

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


@pytest.fixture
def log_in(page, live_server):
    """Log in through the real login page, as whoever was logged in before logs out."""

    def log_in_as(username: str, password: str = PASSWORD):
        page.context.clear_cookies()
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Nom d’utilisateur").fill(username)
        page.get_by_label("Mot de passe").fill(password)
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_url(lambda url: "/accounts/login/" not in url)

    return log_in_as


@pytest.fixture
def axe(page):
    """Run axe-core on the page as it is and return its violations.

    The script is evaluated through the DevTools protocol, which the Content Security Policy
    does not apply to (a <script> tag with the library inline would be refused by
    script-src 'self'). It is injected again after each navigation."""
    if not AXE.exists():
        reason = f"axe-core is not installed at {AXE}: run `npm ci` (or `make install`)"
        if os.environ.get("DEFIS_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    source = AXE.read_text(encoding="utf-8")

    def run() -> list[dict]:
        if not page.evaluate("typeof window.axe === 'object'"):
            page.evaluate(source)
        return page.evaluate(
            """async () => {
                const results = await axe.run(document, {resultTypes: ["violations"]});
                return results.violations.map(v => ({
                    id: v.id,
                    impact: v.impact,
                    help: v.help,
                    targets: v.nodes.map(n => n.target.join(" ")),
                    summary: v.nodes[0].failureSummary,
                }));
            }"""
        )

    return run
