"""The dashboard as people use it: ``twinarena dashboard`` serves it headless, Debian's Chromium
(headless, its network features off) opens every page at its own address (the leaderboard's
default scope said, its tables fitting the page, the policy page's video not stretched, an
unknown policy named), full-page screenshots of each are saved, and an annotator qualifies and
casts a vote in the browser that lands in the store. Needs ``chromium`` and ``chromium-driver``
(apt); skipped without them, except under ``$CI``, where it fails. ``$TWINARENA_SCREENSHOTS``: a
folder to copy the screenshots into.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import free_port, wait_until_healthy
from sqlalchemy import select

from benchmark.store import open_store
from benchmark.store.models import Annotator, Comparison, PairToken

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
)
WAIT_S = 90
ANNOTATOR = "browser-annotator"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture
def browser(tmp_path):
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if missing:
        message = (
            f"{', '.join(missing)} missing: apt-get install --no-install-recommends chromium chromium-driver"
        )
        if _in_ci():
            pytest.fail(f"{message} ($CI is set, so this is not skipped)", pytrace=False)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def server(seeded, tmp_path):
    """``twinarena dashboard`` on the seeded store and a free port, in its own process group."""
    port = free_port()
    log = open(tmp_path / "dashboard.log", "w")  # noqa: SIM115 (closed below)
    env = {**os.environ, "TWINARENA_HOME": str(tmp_path / "home")}
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmark.cli", "dashboard", "--db", seeded["url"], "--port", str(port),
         "--artefacts", str(seeded["artefacts"])],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_healthy(url, process, tmp_path / "dashboard.log", WAIT_S)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def _pending(seeded) -> PairToken | None:
    with open_store(seeded["url"], seeded["artefacts"]) as store, store.session() as session:
        return session.scalars(
            select(PairToken)
            .join(Annotator, Annotator.id == PairToken.annotator_id)
            .where(Annotator.name == ANNOTATOR, PairToken.answered_at.is_(None))
            .order_by(PairToken.id.desc())
        ).first()


def _votes(seeded) -> list[Comparison]:
    with open_store(seeded["url"], seeded["artefacts"]) as store, store.session() as session:
        return list(session.scalars(select(Comparison).where(Comparison.annotator == ANNOTATOR)))


FULL_HEIGHT_JS = """
return Math.max(document.body.scrollHeight,
  ...Array.from(document.querySelectorAll('[data-testid="stMain"], [data-testid="stAppViewContainer"]'),
                e => e.scrollHeight));
"""


def _screenshot(driver, tmp_path: Path, name: str) -> Path:
    """The whole page (the window made as tall as the page for the shot)."""
    path = tmp_path / name
    width, height = driver.get_window_size()["width"], driver.get_window_size()["height"]
    driver.set_window_size(width, max(height, min(8000, driver.execute_script(FULL_HEIGHT_JS) + 120)))
    time.sleep(1.5)  # let tables' canvases and charts repaint at the new size
    try:
        assert driver.save_screenshot(str(path)), name
    finally:
        driver.set_window_size(width, height)
    assert path.stat().st_size > 10_000  # a rendered page, not a blank one
    if os.environ.get("TWINARENA_SCREENSHOTS"):
        out = Path(os.environ["TWINARENA_SCREENSHOTS"])
        out.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, out / name)
    return path


PAGES = (  # address, title, text it shows
    ("leaderboard", "Leaderboard", "How far the judges agree"),
    ("policy?policy=gamma", "Policy", "policy_error 16, success 8"),
    ("vote", "Vote", "Log in"),
    ("twins", "Twins", "2 twins in the store."),
    ("submit", "Submit", "Queue an evaluation campaign"),
)
OVERFLOWING_TABLES_JS = """
return Array.from(document.querySelectorAll('[data-testid="stDataFrame"] .dvn-scroller'))
  .filter(e => e.scrollWidth > e.clientWidth + 1).length;
"""


def test_every_page_at_its_own_address(seeded, server, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, WAIT_S)

    def page_shows(text: str) -> None:
        wait.until(seen.text_to_be_present_in_element((By.TAG_NAME, "body"), text))

    browser.get(server)  # the root switches to the leaderboard's own address
    wait.until(lambda d: "/leaderboard" in d.current_url)
    for address, title, text in PAGES:
        browser.get(f"{server}/{address}")
        wait.until(seen.text_to_be_present_in_element((By.TAG_NAME, "h1"), title))
        page_shows(text)
        time.sleep(1)  # let the tables' canvases paint
        _screenshot(browser, tmp_path, f"{title.lower()}.png")  # first: it shows what a failure saw
        assert "Page not found" not in browser.find_element(By.TAG_NAME, "body").text, address
        assert browser.execute_script(OVERFLOWING_TABLES_JS) == 0, f"{address}: a table is cut off"
        if title == "Leaderboard":
            page_shows(f"Scope: campaign {seeded['campaign']} · unperturbed episodes only")
            assert (
                f"campaign={seeded['campaign']}" in browser.current_url and "axis=none" in browser.current_url
            )
        if title == "Policy":
            wait.until(lambda d: d.find_elements(By.TAG_NAME, "video"))
            widths = [v.size["width"] for v in browser.find_elements(By.TAG_NAME, "video")]
            assert all(0 < w <= 448 for w in widths), widths  # 224 px videos, not stretched
    browser.get(f"{server}/policy?policy=unknown")
    page_shows("There is no policy unknown")
    assert "Robustness per perturbation axis" not in browser.find_element(By.TAG_NAME, "body").text
    _screenshot(browser, tmp_path, "policy-unknown.png")


def test_leaderboard_and_a_vote_through_the_browser(seeded, server, browser, tmp_path):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, WAIT_S, ignored_exceptions=(StaleElementReferenceException,))

    def click(xpath: str) -> None:
        """Click the element once it is there and clickable (Streamlit redraws elements as it reruns)."""

        def clicked(driver) -> bool:
            element = seen.element_to_be_clickable((By.XPATH, xpath))(driver)
            if element:
                element.click()
            return bool(element)

        wait.until(clicked)

    def button(label: str) -> None:
        click(f"//button[normalize-space()='{label}']")

    browser.get(server)  # the leaderboard is the default page
    wait.until(seen.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='stDataFrame']")))
    wait.until(seen.text_to_be_present_in_element((By.TAG_NAME, "body"), "How far the judges agree"))
    time.sleep(1)  # let the table's canvas paint
    _screenshot(browser, tmp_path, "leaderboard.png")

    browser.get(f"{server}/policy?policy=gamma")  # what the leaderboard's "policy page" links open
    wait.until(seen.text_to_be_present_in_element((By.TAG_NAME, "body"), "Robustness per perturbation axis"))
    wait.until(seen.text_to_be_present_in_element((By.TAG_NAME, "body"), "policy_error 16, success 8"))
    _screenshot(browser, tmp_path, "policy.png")

    browser.get(f"{server}/vote")
    name = wait.until(seen.element_to_be_clickable((By.CSS_SELECTOR, "[data-testid='stTextInput'] input")))
    name.send_keys(ANNOTATOR)
    button("Log in")
    wait.until(lambda d: len(d.find_elements(By.TAG_NAME, "video")) == 2)
    wait.until(seen.text_to_be_present_in_element((By.TAG_NAME, "body"), "Qualification"))
    _screenshot(browser, tmp_path, "vote-pair.png")

    for answered in range(30):  # five qualification pairs, maybe a sanity pair, then a regular one
        token = _pending(seeded)
        assert token is not None
        choice = {"left": "A is better", "right": "B is better", None: "Tie"}[token.expected]
        click(f"//label[@data-testid='stRadioOption'][normalize-space()='{choice}']")
        wait.until(seen.element_to_be_clickable((By.TAG_NAME, "textarea"))).send_keys("judged in the browser")
        button("Submit vote")
        if token.kind == "regular":
            wait.until(lambda d: _votes(seeded))
            break
        # the page has rerun: it counts the vote and shows the next pair
        wait.until(
            seen.text_to_be_present_in_element((By.TAG_NAME, "body"), f"· {answered + 1} pairs answered")
        )
    else:
        pytest.fail("no regular pair reached in 30 votes")
    votes = _votes(seeded)
    assert len(votes) == 1 and votes[0].judge == "human" and votes[0].winner == "tie"
    assert votes[0].reason == "judged in the browser"
