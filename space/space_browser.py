"""Run the Space app (app.py, beside this file) in a subprocess and drive it in a real browser: Debian's chromium,
headless, through Playwright's Python sync API (never `playwright install`). A development tool, not part of the
Space that `vaner stage` uploads: used by tests/test_space_browser.py and by screenshot.py, which takes the README
picture with the real default model.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

SPACE_DIR = Path(__file__).resolve().parent
APP_FILE = SPACE_DIR / "app.py"
EXAMPLES_FILE = SPACE_DIR / "examples.json"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
OFFLINE_ENV = {"GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_OFFLINE": "1"}
HOST = "127.0.0.1"
# Gradio's DOM: the text box, the button, each highlighted entity with its inline type label, the table's headers.
TEXT_SELECTOR = "#vaner-text textarea"
TYPES_SELECTOR = "#vaner-types"
SUBMIT_SELECTOR = "#vaner-submit"
ENTITY_LABEL_SELECTOR = "#vaner-highlighted .label"
TABLE_HEADER_SELECTOR = "#vaner-table th"  # each carries its column's name as `title`
TABLE_ROW_SELECTOR = "#vaner-table [role=grid] .virtual-body [role=row]"  # the rows drawn (gradio draws the visible)
DESKTOP_WIDTH, PHONE_WIDTH, WINDOW_HEIGHT = 1280, 390, 860  # CSS pixels; 390: a current phone held upright


def ensure_chromium() -> Path:
    """/usr/bin/chromium, installed from Debian's packages if missing (needs root, as in CI)."""
    if CHROMIUM.is_file():
        return CHROMIUM
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise FileNotFoundError(f"{CHROMIUM} is missing: apt-get update && apt-get install -y chromium (as root)")
    apt_env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update"], check=True, env=apt_env, timeout=600)
    subprocess.run(["apt-get", "install", "-y", "chromium"], check=True, env=apt_env, timeout=1200)
    return CHROMIUM


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        with socket.socket() as probe:
            if probe.connect_ex((HOST, port)) == 0:
                return
        time.sleep(0.25)
    raise TimeoutError(
        f"the app did not listen on {HOST}:{port} within {timeout:.0f} s:\n{log_path.read_text()[-3000:]}"
    )


@contextmanager
def serve_app(model: str | None, log_path, timeout: float = 300.0):
    """Start space/app.py on a free local port (model: a folder or hub id for $VANER_MODEL; None = the app's
    default); yields its URL; stops it (and its children) on exit. The app's output goes to `log_path`."""
    port = free_port()
    env = {**os.environ, **OFFLINE_ENV, "GRADIO_SERVER_NAME": HOST, "GRADIO_SERVER_PORT": str(port)}
    env.pop("VANER_MODEL", None)
    if model is not None:
        env["VANER_MODEL"] = str(model)
    log_path = Path(log_path)
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, str(APP_FILE)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for_port(port, process, log_path, timeout)
        yield f"http://{HOST}:{port}/"
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


@contextmanager
def open_app(url: str, width: int = DESKTOP_WIDTH, timeout_s: float = 120.0):
    """The app at `url` open in headless chromium in a window `width` CSS pixels wide; yields the Playwright page
    (every wait on it up to `timeout_s`)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(ensure_chromium()), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": WINDOW_HEIGHT})
            page.set_default_timeout(timeout_s * 1000)
            page.goto(url)
            yield page
        finally:
            browser.close()


def submit(page, text: str, entity_types=None) -> None:
    """Paste `text`, tick exactly `entity_types` (None: leave the checkboxes as they are) and press the button."""
    page.locator(TEXT_SELECTOR).fill(text)
    if entity_types is not None:
        boxes = page.locator(TYPES_SELECTOR).get_by_role("checkbox")
        boxes.first.wait_for(state="visible")  # count() does not wait: on a busy machine it could read none yet
        for index in range(boxes.count()):
            box = boxes.nth(index)
            label = box.locator("xpath=ancestor::label").text_content().strip()
            box.set_checked(label in entity_types)
    page.locator(SUBMIT_SELECTOR).click()


def entity_labels(page) -> list[str]:
    """The type labels of the highlighted entities in page order, once the first is visible."""
    labels = page.locator(ENTITY_LABEL_SELECTOR)
    labels.first.wait_for(state="visible")
    return [label.strip() for label in labels.all_text_contents()]  # as given, not as CSS styles it


def table_header_spans(page) -> dict[str, tuple[float, float]]:
    """Each column header of the entity table: its (left, right) edge in CSS pixels of the window."""
    spans = {}
    for cell in page.locator(TABLE_HEADER_SELECTOR).all():
        box = cell.bounding_box()
        spans[cell.get_attribute("title")] = (box["x"], box["x"] + box["width"])
    return spans


def table_rows(page) -> list[list[str]]:
    """The entity table's rows as drawn: each row's cell texts."""
    return [row.get_by_role("gridcell").all_inner_texts() for row in page.locator(TABLE_ROW_SELECTOR).all()]


def tag_in_browser(url: str, text: str, entity_types=None, screenshot=None, timeout_s: float = 120.0) -> list[str]:
    """Open the app at `url` in headless chromium, paste `text`, tick exactly `entity_types` (None: leave the
    checkboxes as they are), submit, wait for highlighted entities and return their type labels (in page order);
    save a full-page PNG to `screenshot` if given."""
    with open_app(url, timeout_s=timeout_s) as page:
        submit(page, text, entity_types)
        found = entity_labels(page)
        if screenshot is not None:
            page.screenshot(path=str(screenshot), full_page=True)
        return found
