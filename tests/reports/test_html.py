"""The HTML report: every section and plot, values from the frames, no external refs."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from wsquake.reports import html, series
from wsquake.reports.exceptions import RunDirError
from wsquake.reports.model import load_run
from wsquake.reports.writer import write_reports

from .rundirs import APP2, RUN_ID, check, failing, passing, scenario, suite, write_run

PLOTS = tuple(html.PLOT_SECTIONS)


class Page(HTMLParser):
    """Collects ids, figure ids, link/src attributes, script/style tags and table rows."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: list[str] = []
        self.figures: list[str] = []
        self.refs: list[tuple[str, str, str]] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.session_rows: list[list[str]] = []
        self._in_sessions = False
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        if a.get("id"):
            self.ids.append(str(a["id"]))
        if a.get("data-figure"):
            self.figures.append(str(a["data-figure"]))
        for name in ("src", "href", "xlink:href", "action", "poster", "data"):
            if a.get(name) is not None:
                self.refs.append((tag, name, str(a[name])))
        if tag == "table" and a.get("id") == "session-table":
            self._in_sessions = True
        if self._in_sessions and tag == "tr":
            self._row = []
        if self._row is not None and tag == "td":
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._row:
                self.session_rows.append(self._row)
            self._row = None
        elif tag == "table":
            self._in_sessions = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data + " ")


# Rendering a five-scenario suite takes seconds on a busy machine: once per module.
@pytest.fixture(scope="module")
def suite_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_run(tmp_path_factory.mktemp("run"), suite())


@pytest.fixture(scope="module")
def suite_written(suite_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return html.write_html(suite_dir, tmp_path_factory.mktemp("html"))


@pytest.fixture(scope="module")
def suite_pages(suite_written: list[Path]) -> dict[str, str]:
    return {p.name: p.read_text("utf-8") for p in suite_written}


def test_a_suite_gets_an_index_and_one_page_per_scenario(suite_written: list[Path]) -> None:
    assert [p.name for p in suite_written] == ["index.html", "app-link-drop.html",
                                               "cloud-kill.html", "cloud-blackhole.html",
                                               "flapping.html", "app-kill.html"]
    assert all(p.is_file() for p in suite_written)


def test_the_index_links_every_scenario_page_with_its_verdict(
        suite_pages: dict[str, str]) -> None:
    index = Page(suite_pages["index.html"])
    links = [v for tag, name, v in index.refs if tag == "a" and name == "href"]
    assert links == ["app-link-drop.html", "cloud-kill.html", "cloud-blackhole.html",
                     "flapping.html", "app-kill.html"]
    text = suite_pages["index.html"]
    for verdict in ("PASS", "FAIL", "UNKNOWN", "ERROR"):
        assert verdict in text
    assert RUN_ID in text


def test_a_one_scenario_run_gets_a_single_report_page(tmp_path: Path) -> None:
    root = write_run(tmp_path, [passing()])
    written = html.write_html(root, tmp_path / "out")
    assert [p.name for p in written] == ["report.html"]
    page = Page(written[0].read_text("utf-8"))
    assert not [v for _, _, v in page.refs if v.endswith("index.html")]


@pytest.mark.parametrize("page", ["app-link-drop.html", "cloud-kill.html",
                                  "cloud-blackhole.html", "flapping.html", "app-kill.html"])
def test_every_scenario_page_holds_every_section_and_plot(suite_pages: dict[str, str],
                                                          page: str) -> None:
    parsed = Page(suite_pages[page])
    for section in html.SECTIONS:
        assert section in parsed.ids, section
    assert parsed.figures == list(PLOTS)
    svgs = [a for tag, a in parsed.tags if tag == "svg"]
    assert [a.get("data-plot") for a in svgs] == list(PLOTS)


@pytest.mark.parametrize("page", ["index.html", "app-link-drop.html", "cloud-kill.html"])
def test_pages_need_no_network_or_external_files(suite_pages: dict[str, str],
                                                 page: str) -> None:
    text = suite_pages[page]
    parsed = Page(text)
    for tag, name, value in parsed.refs:
        assert not re.match(r"^(https?:)?//", value), (tag, name, value)
        assert not value.startswith(("file:", "data:text/javascript")), (tag, name, value)
    assert all(a.get("src") is None for tag, a in parsed.tags if tag in ("script", "img"))
    assert not [a for tag, a in parsed.tags if tag == "link"]
    styles = re.findall(r"<style[^>]*>(.*?)</style>", text, re.S)
    assert styles and not any("url(" in s or "@import" in s or "@font-face" in s
                              for s in styles)


def test_the_thresholds_table_shows_measured_and_expected_values(
        suite_pages: dict[str, str]) -> None:
    text = suite_pages["app-link-drop.html"]
    row = re.search(r"<code>recovery\.p95_s &lt;= 4</code></td>\s*<td class=\"num\">"
                    r"([^<]*)</td><td class=\"num\">([^<]*)</td>", text)
    assert row is not None and row.groups() == ("1.875", "4")


def test_the_session_table_matches_the_session_outcomes_frame(
        suite_dir: Path, suite_pages: dict[str, str]) -> None:
    model = load_run(suite_dir)
    view = html.scenario_view(model, "cloud-kill")
    rows = Page(suite_pages["cloud-kill.html"]).session_rows
    assert len(rows) == len(view.sessions) == 3
    first = rows[0]
    assert first[0].startswith(APP2)
    assert first[2] == "never"
    expected = view.sessions.iloc[0]
    assert first[4:] == [str(expected[c]) for c in ("connections", "losses", "sent",
                                                     "received", "lost", "duplicated")]


def test_the_failing_page_shows_the_checks_examples_and_verdict(
        suite_pages: dict[str, str]) -> None:
    text = suite_pages["cloud-kill.html"]
    assert "no init ok after the loss at 10.5 s" in text
    assert "2 disrupted: 1 recovered, 1 never" in text
    assert re.search(r"<h1>cloud-kill <span class=\"verdict fail big\">", text)


def test_interrupted_and_harness_error_pages_say_so(suite_pages: dict[str, str]) -> None:
    assert "Interrupted:" in suite_pages["flapping.html"]
    error = suite_pages["app-kill.html"]
    assert "Harness error:" in error and "ProcessStartError: cloud: exited with 1" in error
    assert "No history was recorded" in error


def test_the_phase_and_delivery_tables_show_the_frames_values(
        suite_dir: Path, suite_pages: dict[str, str]) -> None:
    view = html.scenario_view(load_run(suite_dir), "cloud-kill")
    text = suite_pages["cloud-kill.html"]
    reconnect = view.phases.set_index("phase").loc["reconnect"]
    assert reconnect["n"] == 1
    assert re.search(r"<td>reconnect</td>\s*<td class=\"num\">2\.5</td>", text)
    lost = view.delivery.set_index("phase")["lost"]
    assert int(lost.sum()) > 0
    for phase, n in lost.items():
        assert re.search(rf"<td>{phase}</td><td class=\"num\">\d+</td>\s*"
                         rf"<td class=\"num\">\d+</td><td class=\"num\">{n}</td>", text)


def test_text_from_the_run_is_escaped(tmp_path: Path) -> None:
    evil = scenario("evil", [check("recovery", "fail",
                                   summary="<script>alert(1)</script>")])
    written = html.write_html(write_run(tmp_path, [evil]), tmp_path / "out")
    text = written[0].read_text("utf-8")
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_rendering_twice_gives_identical_files(suite_dir: Path, suite_written: list[Path],
                                              tmp_path: Path) -> None:
    again = html.write_html(suite_dir, tmp_path / "again")
    for a, b in zip(suite_written, again, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_a_path_that_is_not_a_run_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RunDirError, match="no such run directory"):
        html.write_html(tmp_path / "missing", tmp_path / "out")


def test_timelines_start_at_the_warm_up_from_the_journal(tmp_path: Path) -> None:
    root = write_run(tmp_path, [failing()])
    history = failing()["_history"]
    start = min(e.t for e in history.events)
    (root / "journal.jsonl").write_text(
        f'{{"t": {start}, "event": "scenario_started", "scenario": "cloud-kill"}}\n'
        f'{{"t": {start + 5_000_000_000}, "event": "phase", "scenario": "cloud-kill", '
        f'"phase": "warm-up"}}\n', "utf-8")
    text = html.write_html(root, tmp_path / "out")[0].read_text("utf-8")
    # the fault at 10 s of the history starts 5 s after the warm-up
    assert re.search(r"<td>cut</td><td>app-link</td><td>down</td>\s*"
                     r"<td class=\"num\">5</td><td class=\"num\">7</td>", text)


def test_write_reports_writes_the_html_report(tmp_path: Path) -> None:
    root = write_run(tmp_path, [passing(), failing()])
    written = write_reports(root, ["html"])
    assert [p.name for p in written["html"]] == ["index.html", "app-link-drop.html",
                                                 "cloud-kill.html"]
    assert (root / "cloud-kill.html").is_file()


def test_the_session_table_is_capped_for_huge_runs(suite_dir: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(html, "MAX_SESSION_ROWS", 1)
    view = html.scenario_view(load_run(suite_dir), "cloud-kill")
    text = html.render_scenario(view)
    assert len(Page(text).session_rows) == 1
    assert "the first 1 shown" in text


def test_series_timebase_of_a_page_uses_the_scenario_time_scale(tmp_path: Path) -> None:
    root = write_run(tmp_path, [scenario("slow", [check("recovery")], time_scale=0.5,
                                         history=failing()["_history"])])
    view = html.scenario_view(load_run(root), "slow")
    assert view.faults["end_s"].iloc[0] - view.faults["start_s"].iloc[0] == pytest.approx(4.0)
    assert isinstance(view.lanes, series.Swimlanes)


def test_the_index_shows_each_scenarios_key_metrics(suite_pages: dict[str, str]) -> None:
    text = suite_pages["index.html"]
    row = re.search(r'<a href="cloud-kill.html">cloud-kill</a>.*?</tr>', text, re.S)
    assert row is not None
    cells = re.findall(r'<td class="num">([^<]*)</td>', row.group(0))
    # duration, time scale, faults, failed, unknown, p95, never, lost, duplicated
    assert cells == ["31.25", "1", "1", "2", "0", "2.5", "1", "7", "0"]
    assert "2026-11-27 01:00:00 UTC" in text
