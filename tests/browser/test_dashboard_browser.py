"""The dashboard as a web app (Voila) in headless Chromium, driven with Selenium, all on 127.0.0.1.

Skipped, with the reason, where Chromium, its driver, Voila or Selenium is missing (.ci/run installs Debian's
chromium and chromium-driver; locally: ``apt-get install chromium chromium-driver``).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER),
    reason="Chromium or chromedriver is not installed (apt-get install chromium chromium-driver)",
)
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
pytest.importorskip("voila", reason="voila is not installed")
nbformat = pytest.importorskip("nbformat")

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

XSS = "<script>window.__chatlens_xss = 1</script> look at this"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def app(tmp_path, demo_db):
    from chatlens.backends.sqlite import Workspace

    # A message with a script in it, in a thread nobody answers: the Threads tab must show it as text. It is dated
    # a minute into the dashboard's default period (the last 28 complete days), so it is the longest-waiting
    # unanswered thread of its conversation, first in the list.
    ws = Workspace(demo_db)
    api = ws.account("acme-slack")
    conv = next(c for c in api.list_conversations(page_size=100)["objects"] if c["name"] == "random")
    last = ws.db.execute("SELECT max(created) FROM messages WHERE account_id = 'acme-slack'").fetchone()[0]
    raw = json.dumps({"type": "message", "user": api.user_id, "text": "x", "ts": "1.000001"})
    first = ws.db.execute("SELECT min(created) FROM messages WHERE account_id = 'acme-slack'").fetchone()[0]
    # And one message alone on its day, ten days before the others: a day with one message is a chart.
    alone = first - first % 86_400_000_000 - 10 * 86_400_000_000 + 12 * 3_600_000_000
    ws.add_messages(
        "acme-slack",
        [
            (
                "MXSS",
                conv["id"],
                api.user_id,
                last - last % 86_400_000_000 - 28 * 86_400_000_000 + 60_000_000,
                XSS,
                "",
                None,
                raw,
            ),
            ("MALONE", conv["id"], api.user_id, alone, "the only message of its day", "", None, raw),
        ],
    )
    (tmp_path / "alone-day").write_text(time.strftime("%Y-%m-%d", time.gmtime(alone / 1e6)))
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import os\n"
            f"os.environ['CHATLENS_DEMO_DB'] = {str(demo_db)!r}\n"
            f"os.environ['CHATLENS_CACHE_DIR'] = {str(tmp_path / 'cache')!r}\n"
            "os.environ['TQDM_DISABLE'] = '1'\n"
            "%matplotlib inline\n"
            "import chatlens\n"
            "board = chatlens.dashboard(['demo:acme-slack', 'demo:no-such-account'])\n"
            "board.account.value = 'demo:acme-slack'\n"
            "board"
        )
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "dashboard.ipynb"
    nbformat.write(nb, path)
    port = _free_port()
    env = dict(os.environ)
    proc = subprocess.Popen(
        [sys.executable, "-m", "voila", str(path), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=tmp_path,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture
def browser(tmp_path):
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1800",
        f"--user-data-dir={tmp_path / 'chrome'}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


def _timeline_image(driver) -> str | None:
    images = driver.execute_script(
        "return Array.from(document.querySelectorAll('img')).map(i => i.src).filter(s => s.startsWith('data:'))"
    )
    return images[0] if images else None


def _open_tab(driver, title: str) -> None:
    """Click the tab named ``title`` (a tab is drawn when it is opened)."""
    tab = driver.find_element(By.XPATH, f"//*[contains(@class, 'TabBar-tab')][.//*[normalize-space(text())='{title}']]")
    tab.click()


def test_dashboard_in_a_real_browser(app, browser, tmp_path):
    browser.get(app)
    wait = WebDriverWait(browser, 120)
    select = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "select[multiple]") or False)[0]
    wait.until(lambda d: d.find_elements(By.XPATH, "//*[contains(@class, 'TabBar-tab')]") or False)
    _open_tab(browser, "Timeline")
    wait.until(lambda d: _timeline_image(d))
    before = _timeline_image(browser)
    option = next(o for o in Select(select).options if o.text.startswith("engineering ("))
    Select(select).select_by_visible_text(option.text)
    wait.until(lambda d: _timeline_image(d) not in (None, before))  # picking a conversation redraws the timeline
    # CHATLENS_SCREENSHOT_DIR keeps a picture of what the browser showed, for a person to look at.
    shots = Path(os.environ.get("CHATLENS_SCREENSHOT_DIR", tmp_path))
    browser.save_screenshot(str(shots / "dashboard.png"))
    # The unanswered script message is on the page as text once text is shown (hidden by default), and never ran.
    Select(select).deselect_all()
    random_option = next(o for o in Select(select).options if o.text.startswith("random ("))
    Select(select).select_by_visible_text(random_option.text)
    _open_tab(browser, "Threads")
    wait.until(lambda d: "Waiting for an answer" in _text(d))
    assert "window.__chatlens_xss = 1" not in _text(browser)
    browser.find_element(By.XPATH, "//label[contains(., 'Show message text')]//input").click()
    wait.until(lambda d: "window.__chatlens_xss = 1" in _text(d))
    assert browser.execute_script("return window.__chatlens_xss") is None

    # An account that cannot be loaded: every tab cleared and the error said; no chart of the last account stays.
    account = Select(
        browser.find_element(
            By.XPATH, "//div[contains(@class, 'widget-dropdown')][.//label[contains(., 'Account')]]//select"
        )
    )
    account.select_by_visible_text("demo:no-such-account")
    wait.until(lambda d: "Nothing to show:" in _text(d) and _timeline_image(d) is None)
    assert "no-such-account" in _text(browser) and not Select(select).options
    browser.save_screenshot(str(shots / "dashboard-failed.png"))

    # Back to the demo, and the day of a single message: a chart of it, not empty axes nor words.
    account.select_by_visible_text("demo:acme-slack")
    _open_tab(browser, "Timeline")
    wait.until(lambda d: _timeline_image(d) and "Nothing to show:" not in _text(d))
    day = (tmp_path / "alone-day").read_text()
    for n in (0, 1):  # From, then Until: the same day
        browser.execute_script(
            "const i = document.querySelectorAll('input[type=date]')[arguments[0]]; i.value = arguments[1];"
            "i.dispatchEvent(new Event('change', {bubbles: true}));",
            n,
            day,
        )
    wait.until(lambda d: _timeline_image(d))
    _open_tab(browser, "Overview")
    wait.until(lambda d: f"{day} to {day}" in _text(d))
    page = _text(browser)
    assert "No messages in this period." not in page and "Nothing to show:" not in page
    browser.save_screenshot(str(shots / "dashboard-one-day.png"))


def _text(driver) -> str:
    return driver.find_element(By.TAG_NAME, "body").get_attribute("textContent")
