"""The report in a real browser: headless Chromium through Selenium.

Each page must load without console errors and without any network request
(charts are ``data:`` URIs), show every chart at a real size, and show
user-supplied names as text. Full-page screenshots go to ``tests/artifacts/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from mediamix import MMM

if TYPE_CHECKING:
    from tests.report.conftest import Browser, Page

CHARTS = {"spend", "fit", "decomposition", "waterfall", "share", "response", "adstock", "priors"}


def _assert_clean(page: Page, path: Path) -> None:
    errors = [e for e in page.console if e["level"] in ("SEVERE", "ERROR")]
    assert errors == [], errors
    own = path.resolve().as_uri()
    assert [u for u in page.requests if not u.startswith("data:") and u != own] == []
    assert page.alert is None and page.scripts == 0


def _assert_charts_rendered(page: Page, charts: set[str]) -> None:
    assert {img["chart"] for img in page.images} == charts
    for img in page.images:
        assert img["complete"] and img["width"] > 0 and img["height"] > 0, img
        assert img["shown"] > 200, img  # laid out at a readable width, not collapsed


def test_the_browser_checks_can_fail(browser: Browser, tmp_path: Path) -> None:
    # A page that breaks every rule: the checks below must see it, or their silence means nothing.
    path = tmp_path / "bad.html"
    path.write_text('<html><body><img src="http://127.0.0.1:9/x.png">'
                    '<script>console.error("boom")</script></body></html>', encoding="utf-8")
    page = browser.open(path)
    assert "http://127.0.0.1:9/x.png" in page.requests
    assert any("boom" in e["message"] for e in page.console)
    assert page.scripts == 1 and page.images[0]["width"] == 0


def test_prior_report_in_chromium(browser: Browser, prior_folder: Path, artifacts: Path) -> None:
    path = prior_folder / "report.html"
    page = browser.open(path, screenshot=artifacts / "report-prior.png")
    _assert_clean(page, path)
    _assert_charts_rendered(page, CHARTS)
    for heading in ("Data overview", "Model fit", "Decomposition", "Channels", "Response and adstock curves",
                    "Diagnostics", "Model configuration"):
        assert heading.upper() in page.text.upper()
    assert (artifacts / "report-prior.png").stat().st_size > 50_000


def test_script_named_channel_shows_as_text(browser: Browser, script_fit: MMM, script_report: Path,
                                            artifacts: Path) -> None:
    name = script_fit.config_.data.channels[0]
    page = browser.open(script_report, screenshot=artifacts / "report-script-channel.png")
    _assert_clean(page, script_report)
    _assert_charts_rendered(page, CHARTS)
    assert name in page.text  # the browser shows the tag as text instead of running it
    assert browser.driver.find_element("css selector", "table.channels tbody th").text == name


def test_optimization_section_in_chromium(browser: Browser, optimization_report: Path, artifacts: Path) -> None:
    page = browser.open(optimization_report, screenshot=artifacts / "report-optimization.png")
    _assert_clean(page, optimization_report)
    _assert_charts_rendered(page, CHARTS | {"allocation"})
    assert "BUDGET OPTIMIZATION" in page.text.upper()


@pytest.mark.slow
def test_demo_report_in_chromium(browser: Browser, demo_fit: MMM, tmp_path: Path, artifacts: Path) -> None:
    folder = demo_fit.save(tmp_path / "demo")
    path = folder / "report.html"
    page = browser.open(path, screenshot=artifacts / "report-demo.png")
    _assert_clean(page, path)
    _assert_charts_rendered(page, CHARTS)
    assert "The sampler converged" in page.text
