"""Headless Chromium (Debian's) for the browser tests, and a page checked and photographed at
laptop (1366×768) and phone (390×844) sizes: under the test's tmp dir and in var/screenshots/."""

from __future__ import annotations

import base64
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from support.infra import ROOT

SIZES = {"laptop": (1366, 768, False), "phone": (390, 844, True)}


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A Chromium WebDriver for a module's browser tests, on a profile of its own; what the
    pages log is kept (a Content Security Policy refusal lands there). A conftest imports
    it for the browser tests beside it."""
    subprocess.run([str(ROOT / "scripts" / "ensure-chromium.sh")], check=True)
    from selenium import webdriver  # noqa: PLC0415  (installed with the dev tools)
    from selenium.webdriver.chrome.service import Service  # noqa: PLC0415

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    profile = tmp_path_factory.mktemp("chromium-profile")
    for flag in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--window-size=1366,768", f"--user-data-dir={profile}",
    ):  # fmt: skip
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.set_page_load_timeout(30)
        yield driver
    finally:
        driver.quit()


def screenshot(driver: Any, path: Path, *, full_page: bool) -> None:
    """A PNG of the viewport, or of the whole page."""
    params: dict[str, Any] = {"format": "png"}
    if full_page:
        size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
        params |= {
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"],
                     "scale": 1},
        }  # fmt: skip
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", params)
    path.write_bytes(base64.b64decode(shot["data"]))


def at_each_size(
    driver: Any, page: str, shots: Path, prefix: str, check: Callable[[str, int], None]
) -> None:
    """Open `page` at laptop and phone sizes: `check(size name, height)`, no sideways
    overflow, a full-page screenshot each, kept in var/screenshots/ too."""
    shots.mkdir()
    for name, (width, height, mobile) in SIZES.items():
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
        )
        driver.get(page)
        check(name, height)
        overflow = driver.execute_script(
            "return document.documentElement.scrollWidth - window.innerWidth"
        )
        assert overflow <= 0, f"{name}: the page is {overflow} px wider than the screen"
        screenshot(driver, shots / f"{prefix}-{name}.png", full_page=True)
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    kept = ROOT / "var" / "screenshots"
    kept.mkdir(parents=True, exist_ok=True)
    for shot in shots.iterdir():
        assert shot.stat().st_size > 10_000, shot  # an image with content, not a blank
        shutil.copy(shot, kept / shot.name)
