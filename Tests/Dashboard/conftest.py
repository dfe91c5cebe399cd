"""Fixtures of the dashboard tests: the real `tally serve --http` binary ($TALLY_BIN) on a
temporary home and socket, data seeded through the real Python client, and headless Chromium
(Debian's /usr/bin/chromium and /usr/bin/chromedriver) driven by Selenium.

The seeded daemon and the browser are shared by the whole session (seeding a sweep and an
evaluation takes a few seconds); tests that change data use their own experiments, runs or jobs,
so that what the others check stays as seeded."""
import os
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dashboard_seed as seed  # noqa: E402
from dashboard_seed import Browser, Daemon, http_request, parse_sse  # noqa: E402,F401

# The journals of runs a test leaves unflushed go to a temporary folder, never the user's data folder.
os.environ.setdefault("TALLY_JOURNAL", tempfile.mkdtemp(prefix="tally-test-journal-"))


def _check_binary():
    try:
        seed.tally_bin()
    except RuntimeError as error:
        pytest.fail(str(error))


@pytest.fixture(scope="session")
def stub():
    """The stand-in OpenAI-compatible model server (Tests/CLI/stub_model_server.py) on loopback."""
    server = seed.start_stub_model_server()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def daemon():
    _check_binary()
    d = Daemon()
    yield d
    d.cleanup()


@pytest.fixture(scope="session")
def client(daemon):
    c = daemon.client()
    yield c
    c.close()


@pytest.fixture(scope="session")
def seeded(daemon, client, stub):
    """Three experiments of runs with curves, a finished grid sweep and a finished evaluation."""
    return seed.seed_all(client, stub)


@pytest.fixture(scope="session")
def driver():
    for path in (seed.CHROMIUM, seed.CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            pytest.fail(f"{path} is missing: run scripts/setup (apt packages chromium chromium-driver)")
    d = seed.make_driver()
    yield d
    d.quit()


@pytest.fixture
def browser(driver, daemon, seeded):
    """The session's browser logged in to the seeded daemon (cookie from `?token=`)."""
    b = Browser(driver, daemon)
    b.console.clear()
    return b


def assert_no_console_errors(browser: Browser):
    severe = browser.severe()
    assert not severe, f"console errors on {browser.driver.current_url}:\n" + "\n".join(
        e.get("message", "") for e in severe)


def open_page(browser: Browser, route: str, timeout=30.0):
    """Loads #<route> afresh, waits for main[data-ready="true"] and checks the console."""
    browser.open(route, timeout=timeout)
    assert_no_console_errors(browser)
    return browser
