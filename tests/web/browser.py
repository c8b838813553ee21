"""A real headless Chromium (Debian's package, /usr/bin/chromium) driven by Playwright, for the
pages Vafa serves: the club's web console and the bridge's page.

tests/web/conftest.py imports these for every test under tests/web (one definition only:
Playwright's sync API allows one driver per thread, so never import them into a test module).

`page` is a fresh page whose console errors and uncaught page errors are collected in
`page.vafa_errors`; a test asserts that list is empty after its clicks. Chromium is started with
the flags this machine's closed network needs (no background connections, no QUIC) and an empty
profile (Playwright's own temporary one). A missing Chromium fails under CI (CI installs it through
scripts/install-system-deps.sh) and skips elsewhere with that hint.
"""

import os
import shutil

import pytest

CHROMIUM = os.environ.get("VAFA_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HINT = "run 'sudo bash scripts/install-system-deps.sh' (chromium)"


@pytest.fixture(scope="session")
def chromium():
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        message = f"{CHROMIUM} is not installed: {HINT}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:  # Playwright gives each launch a fresh, empty profile
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context()
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    pg.vafa_errors = []
    pg.on("console", lambda m: m.type == "error" and pg.vafa_errors.append(m.text))
    pg.on("pageerror", lambda e: pg.vafa_errors.append(str(e)))
    yield pg
    context.close()
