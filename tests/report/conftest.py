"""Fixtures of the report tests: saved fits and a headless Chromium driven by Selenium.

The browser is Debian's ``chromium`` with ``chromium-driver`` (``.ci/run`` installs them
when missing). Tests that need it are skipped, saying why, only when neither can be found.
"""

from __future__ import annotations

import json
import shutil
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mediamix import MMM, simulate
from mediamix.cli.app import app
from mediamix.errors import ConvergenceWarning, DataWarning
from mediamix.report import write_report
from mediamix.testing import PriorSampler

#: Screenshots land here (ignored by git), to look at after a run.
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

#: A channel name that would run as a script if the report did not escape it (the config accepts it).
SCRIPT_NAME = "<script>alert(1)</script>"

CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication",
    "--no-first-run",
    "--no-default-browser-check",
    "--metrics-recording-only",
    "--hide-scrollbars",
    "--window-size=1280,900",
)


def _find(*names: str) -> str | None:
    return next((path for name in names if (path := shutil.which(name))), None)


@dataclass
class Page:
    """What the browser saw of one page: console messages, requested URLs, image sizes, visible text."""

    console: list[dict[str, Any]]
    requests: list[str]
    images: list[dict[str, Any]]
    text: str
    scripts: int
    alert: str | None


class Browser:
    """A headless Chromium that opens files and reports console errors and network requests."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver

    def open(self, path: Path, screenshot: Path | None = None) -> Page:
        from selenium.common.exceptions import NoAlertPresentException

        d = self.driver
        d.get_log("performance")  # drop what earlier pages logged
        d.get_log("browser")
        d.get(path.resolve().as_uri())
        requests = []
        for entry in d.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                requests.append(message["params"]["request"]["url"])
        try:
            alert = d.switch_to.alert.text
        except NoAlertPresentException:
            alert = None
        images = d.execute_script(
            "return Array.from(document.images).map(i => ({chart: i.dataset.chart, complete: i.complete,"
            " width: i.naturalWidth, height: i.naturalHeight, shown: i.getBoundingClientRect().width}));"
        )
        page = Page(
            console=d.get_log("browser"),
            requests=requests,
            images=images,
            text=d.find_element("tag name", "body").text,
            scripts=d.execute_script("return document.scripts.length;"),
            alert=alert,
        )
        if screenshot is not None:
            self.screenshot(screenshot)
        return page

    def screenshot(self, path: Path) -> Path:
        """A full-page PNG of the open page."""
        import base64

        d = self.driver
        width, height = d.execute_script(
            "return [document.documentElement.scrollWidth, document.documentElement.scrollHeight];"
        )
        shot = d.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
        })
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        print(f"screenshot: {path}")
        return path


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """A headless Chromium (skipped, saying why, when Chromium or its driver is not installed)."""
    chromium = _find("chromium", "chromium-browser", "google-chrome")
    driver_path = _find("chromedriver")
    if chromium is None or driver_path is None:
        missing = "Chromium" if chromium is None else "chromedriver"
        pytest.skip(f"{missing} not found on PATH: install Debian's 'chromium' and 'chromium-driver' (.ci/run does)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    # Both paths given, so Selenium Manager (which may download drivers) never runs.
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield Browser(driver)
    finally:
        driver.quit()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots go: ``tests/artifacts/`` (ignored by git)."""
    return ARTIFACTS


@pytest.fixture(scope="session")
def prior_folder(prior_fit: MMM, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The prior fit saved to a folder (with its report)."""
    return prior_fit.save(tmp_path_factory.mktemp("report") / "prior")


@pytest.fixture(scope="session")
def script_fit(demo: simulate.SimulatedDataset) -> MMM:
    """A fake fit whose first channel is named like a script tag."""
    data = demo.data.rename(columns={"x1": SCRIPT_NAME})
    mmm = MMM(date="date_week", target="y", channels=[SCRIPT_NAME, "x2"], controls=["event_1", "event_2"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", DataWarning)
        return mmm.fit(data, sampler=PriorSampler(), chains=2, draws=50, seed=5)


@pytest.fixture(scope="session")
def script_report(script_fit: MMM, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of :func:`script_fit`."""
    return write_report(tmp_path_factory.mktemp("script") / "report.html", script_fit.report_data())


@pytest.fixture(scope="session")
def optimization_report(prior_folder: Path, prior_fit: MMM, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The prior fit's report rebuilt by ``mediamix report`` after an ``optimization.json`` was added."""
    folder = tmp_path_factory.mktemp("optimized") / "fit"
    shutil.copytree(prior_folder, folder)
    result = prior_fit.optimize_budget(6.0, 4, max_draws=100).to_dict()
    (folder / "optimization.json").write_text(json.dumps(result), encoding="utf-8")
    run = CliRunner().invoke(app, ["report", str(folder)])
    assert run.exit_code == 0, run.output
    assert f"Wrote {folder / 'report.html'}" in run.output.replace("\n", "")
    return folder / "report.html"
