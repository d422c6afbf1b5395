"""The dashboard as people use it: ``twinarena dashboard`` serves it headless, Debian's Chromium
(headless, its network features off) opens the leaderboard and the vote page, screenshots of
both are saved, and an annotator qualifies and casts a vote in the browser that lands in the
store. Needs ``chromium`` and ``chromium-driver`` (apt); skipped without them, except under
``$CI``, where it fails. ``$TWINARENA_SCREENSHOTS``: a folder to copy the screenshots into.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def server(seeded, tmp_path):
    """``twinarena dashboard`` on the seeded store and a free port, in its own process group."""
    port = _free_port()
    log = open(tmp_path / "dashboard.log", "w")  # noqa: SIM115 (closed below)
    env = {**os.environ, "TWINARENA_HOME": str(tmp_path / "home")}
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmark.cli", "dashboard", "--db", seeded["url"], "--port", str(port),
         "--artefacts", str(seeded["artefacts"])],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + WAIT_S
        while True:
            assert process.poll() is None, (tmp_path / "dashboard.log").read_text()
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer,
            ):
                if answer.read().decode().strip() == "ok":
                    break
            assert time.monotonic() < deadline, "the dashboard did not answer /_stcore/health"
            time.sleep(0.5)
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


def _screenshot(driver, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    assert driver.save_screenshot(str(path)), name
    assert path.stat().st_size > 10_000  # a rendered page, not a blank one
    if os.environ.get("TWINARENA_SCREENSHOTS"):
        out = Path(os.environ["TWINARENA_SCREENSHOTS"])
        out.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, out / name)
    return path


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
    _screenshot(browser, tmp_path, "vote.png")

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
