"""The HTML report in real headless Chromium (Debian's ``chromium``), driven over CDP.

Set ``WSQUAKE_REPORT_SCREENSHOT=docs/report-screenshot.png`` to also save the screenshot
there (that is how the README's screenshot is made).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from wsquake.reports import html

from .browser import Browser, Page, chromium_binary, launch
from .demo import write_demo_run
from .rundirs import suite, write_run

CHROMIUM = chromium_binary()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium binary on PATH (Debian: apt-get install chromium)")

FIGURES_JS = """
Array.from(document.querySelectorAll("figure[data-figure]")).map(function (f) {
  var svg = f.querySelector("svg"), box = svg ? svg.getBoundingClientRect() : null;
  return {id: f.getAttribute("data-figure"), w: box ? box.width : 0, h: box ? box.height : 0,
          section: f.closest("section").id};
})
"""


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_demo_run(tmp_path_factory.mktemp("demo"))
    [page] = html.write_html(root, root)
    return page


@pytest.fixture(scope="module")
def suite_report(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = write_run(tmp_path_factory.mktemp("suite"), suite())
    return html.write_html(root, root / "html")


async def open_page(browser: Browser, path: Path, width: int = 1280) -> Page:
    page = await browser.new_page(width, 900)
    await page.navigate(path.as_uri())  # tmp paths are absolute
    return page


async def test_every_page_renders_without_console_errors(suite_report: list[Path],
                                                         demo_report: Path) -> None:
    assert CHROMIUM is not None
    async with launch(CHROMIUM) as browser:
        for path in [*suite_report, demo_report]:
            page = await open_page(browser, path)
            title = await page.evaluate("document.title")
            assert title.startswith("wsquake"), path.name
            assert page.errors == [], path.name


async def test_every_plot_is_drawn_with_a_size_in_its_section(demo_report: Path) -> None:
    assert CHROMIUM is not None
    async with launch(CHROMIUM) as browser:
        page = await open_page(browser, demo_report)
        figures = await page.evaluate(FIGURES_JS)
        assert [f["id"] for f in figures] == list(html.PLOT_SECTIONS)
        for f in figures:
            assert f["section"] == html.PLOT_SECTIONS[f["id"]], f
            assert f["w"] > 200 and f["h"] > 100, f
        shaded = await page.evaluate("""["connected", "traffic", "swimlanes", "cloud-metrics"]
            .map(function (id) {
              var span = document.getElementById(id + "-fault-0");
              var box = span ? span.getBoundingClientRect() : null;
              return box ? box.width * box.height : 0; })""")
        assert all(area > 0 for area in shaded), shaded
        assert page.errors == []


async def test_the_report_fits_a_narrow_window(demo_report: Path) -> None:
    assert CHROMIUM is not None
    async with launch(CHROMIUM) as browser:
        page = await open_page(browser, demo_report, width=390)
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0
        # each plot keeps a readable width and scrolls sideways inside its own box
        boxes = await page.evaluate("""Array.from(document.querySelectorAll(".plotbox"))
            .map(function (b) { return [b.getBoundingClientRect().width, b.scrollWidth]; })""")
        assert len(boxes) == len(html.PLOT_SECTIONS)
        assert all(0 < width <= 390 and scroll >= 560 for width, scroll in boxes), boxes


async def test_the_session_table_sorts_when_a_heading_is_clicked(demo_report: Path) -> None:
    assert CHROMIUM is not None
    async with launch(CHROMIUM) as browser:
        page = await open_page(browser, demo_report)
        column = """Array.from(document.querySelectorAll("#session-table tbody tr"))
                    .map(function (r) { return r.cells[3].textContent.trim(); })"""
        before = await page.evaluate(column)
        await page.evaluate("""document.querySelectorAll("#session-table thead button")[3]
                               .click()""")
        ascending = await page.evaluate(column)
        await page.evaluate("""document.querySelectorAll("#session-table thead button")[3]
                               .click()""")
        descending = await page.evaluate(column)
        numbers = [float(v) for v in ascending if v != "-"]
        assert numbers == sorted(numbers) and len(numbers) >= 3
        assert ascending != before
        assert [float(v) for v in descending if v != "-"] == sorted(numbers, reverse=True)
        sort = await page.evaluate(
            "document.querySelectorAll('#session-table thead th')[3].getAttribute('aria-sort')")
        assert sort == "descending"
        assert page.errors == []


async def test_a_script_error_in_a_page_is_reported(tmp_path: Path) -> None:
    assert CHROMIUM is not None
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><title>x</title><script>console.error('boom');"
                   "undefinedFunction();</script>", "utf-8")
    async with launch(CHROMIUM) as browser:
        page = await open_page(browser, bad)
        assert any("boom" in e for e in page.errors)
        assert any("undefinedFunction" in e for e in page.errors)


async def test_a_screenshot_of_the_report_is_taken(demo_report: Path, tmp_path: Path) -> None:
    assert CHROMIUM is not None
    shot = tmp_path / "report.png"
    async with launch(CHROMIUM) as browser:
        page = await open_page(browser, demo_report, width=1000)
        await page.screenshot(shot, 1000, max_height=2600)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1000, 2600)
    target = os.environ.get("WSQUAKE_REPORT_SCREENSHOT")
    if target:
        shutil.copyfile(shot, target)
