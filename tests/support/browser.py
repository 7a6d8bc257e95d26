"""Headless Chromium for the browser tests (Debian's, driven through its ChromeDriver: no browser download),
and the MIS Gateway page in Airflow as an operator sees it there."""
from __future__ import annotations

import shutil
import time
from pathlib import Path

from conftest import ROOT

SCREENSHOTS = ROOT / "var" / "screenshots"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")


def chromium(profile: Path, *flags: str, window: str = "1600,1100"):
    """A headless Chromium with a profile folder of its own; flags are added to the usual ones."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in (*FLAGS, *flags, f"--window-size={window}", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"),
                            options=options)


def misgw_page_in_airflow(airflow, token: str, profile: Path, ready: str, screenshot: Path,
                          settle: float = 0) -> str:
    """The MIS Gateway page inside Airflow (signed in with the token): waits for its frame to show `ready`, then
    `settle` seconds for the navigation around it to finish drawing, keeps a screenshot of the whole window, and
    returns the page's own HTML (the frame's)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    driver = chromium(profile, "--disable-quic")
    try:
        driver.get(airflow.url + "/auth/login")
        driver.add_cookie({"name": "_token", "value": token, "path": "/"})
        driver.get(airflow.url + "/plugin/misgw")
        WebDriverWait(driver, 60).until(expected_conditions.frame_to_be_available_and_switch_to_it(
            (By.TAG_NAME, "iframe")))
        WebDriverWait(driver, 60).until(lambda d: ready in d.page_source)
        inner = driver.page_source
        driver.switch_to.default_content()
        time.sleep(settle)
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(screenshot))
    finally:
        driver.quit()
    return inner


def screenshot_of_misgw_page(airflow, token: str, root: Path) -> Path:
    """The demo's districts on the MIS Gateway page in Airflow: var/screenshots/misgw-page-in-airflow.png."""
    path = SCREENSHOTS / "misgw-page-in-airflow.png"
    inner = misgw_page_in_airflow(airflow, token, root / "chromium", "cantho-ninh-kieu", path, settle=2)
    assert "Cổng MIS" in inner and "cantho-phong-dien" in inner and "cantho-co-do" in inner
    return path
