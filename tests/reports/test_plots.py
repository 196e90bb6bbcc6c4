"""Each plot renders well-formed, deterministic SVG with the fault windows shaded."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from tests.scenarios.synth import APP, T0, USER, Synth
from wsquake.history.frame import HistoryFrames
from wsquake.reports import plots, series

from .test_series import standard

SVG = "{http://www.w3.org/2000/svg}"
TIMELINES = ("connected", "traffic", "swimlanes", "cloud-metrics")


def render_all(frames: HistoryFrames) -> dict[str, plots.Plot]:
    tb = series.Timebase(T0, 1.0, 5.0)
    faults = series.fault_windows(frames, tb)
    cases = series.recovery_cases(frames, tb)
    outcomes = series.session_outcomes(frames, tb, cases)
    out = [
        plots.plot_connected(series.connected(frames, tb), faults),
        plots.plot_traffic(series.message_rate(frames, tb), series.probe_latency(frames, tb),
                           faults),
        plots.plot_ttr_cdf(series.ttr_cdf(cases)),
        plots.plot_phases(series.phase_breakdown(cases)),
        plots.plot_delivery(series.delivery_by_phase(frames, tb)),
        plots.plot_swimlanes(series.swimlanes(frames, tb, outcomes), faults),
        plots.plot_cloud_metrics(series.cloud_metrics(frames, tb), faults),
    ]
    return {p.id: p for p in out}


def history() -> HistoryFrames:
    h = standard()
    h.echo(3.0).echo(13.0, rtt=0.3)
    h.add(2.0, "runner", "cloud_probe", "ok", sessions=1, m_messages_dropped_total=0.0)
    h.add(11.0, "runner", "cloud_probe", "ok", sessions=1, m_messages_dropped_total=2.0)
    return h.frames()


@pytest.fixture(scope="module")
def rendered() -> dict[str, plots.Plot]:
    return render_all(history())


def test_every_plot_is_rendered(rendered: dict[str, plots.Plot]) -> None:
    assert list(rendered) == ["connected", "traffic", "ttr-cdf", "phases", "delivery",
                              "swimlanes", "cloud-metrics"]


@pytest.mark.parametrize("plot_id", ["connected", "traffic", "ttr-cdf", "phases", "delivery",
                                     "swimlanes", "cloud-metrics"])
def test_each_plot_is_well_formed_svg_with_an_accessible_label(
        rendered: dict[str, plots.Plot], plot_id: str) -> None:
    plot = rendered[plot_id]
    root = ET.fromstring(plot.svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("aria-label") == plot.alt and plot.title in plot.alt
    assert root.get("data-plot") == plot_id
    assert not plot.svg.lstrip().startswith("<?xml")


@pytest.mark.parametrize("plot_id", TIMELINES)
def test_every_timeline_shades_the_fault_windows(rendered: dict[str, plots.Plot],
                                                 plot_id: str) -> None:
    root = ET.fromstring(rendered[plot_id].svg)
    ids = {el.get("id") for el in root.iter()}
    assert f"{plot_id}-fault-0" in ids
    assert 'patternUnits="userSpaceOnUse"' in rendered[plot_id].svg  # the hatch


def test_a_timeline_without_faults_has_no_shading() -> None:
    h = Synth()
    h.glasses_up(USER, 1, at=0).app_up(APP, 1, at=0.02)
    h.flow(USER, [APP], start=1, stop=5)
    got = render_all(h.frames())
    for plot_id in TIMELINES:
        assert f"{plot_id}-fault-" not in got[plot_id].svg
    root = ET.fromstring(got["connected"].svg)
    assert "fault window" not in ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def test_rendering_is_deterministic_and_has_no_date(rendered: dict[str, plots.Plot]) -> None:
    again = render_all(history())
    for plot_id, plot in rendered.items():
        assert again[plot_id].svg == plot.svg, plot_id
        assert "<dc:date>" not in plot.svg and "<metadata>" not in plot.svg


def test_element_ids_are_unique_across_the_plots_of_a_page(
        rendered: dict[str, plots.Plot]) -> None:
    ids: list[str] = []
    for plot in rendered.values():
        ids += [i for i in (el.get("id") for el in ET.fromstring(plot.svg).iter()) if i]
    assert len(ids) == len(set(ids))
    for plot in rendered.values():
        own = set(re.findall(r'id="([^"]+)"', plot.svg))
        for ref in re.findall(r'url\(#([^)]+)\)', plot.svg):
            assert ref in own


def test_plots_use_the_colour_blind_safe_palette(rendered: dict[str, plots.Plot]) -> None:
    svg = rendered["connected"].svg
    assert plots.PALETTE["blue"].lower() in svg.lower()
    assert plots.PALETTE["orange"].lower() in svg.lower()
    # roles also differ by line style, not colour only
    assert "stroke-dasharray" in svg


def test_text_stays_text_for_scaling_and_assistive_tools(
        rendered: dict[str, plots.Plot]) -> None:
    root = ET.fromstring(rendered["connected"].svg)
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert "scenario time (s)" in texts
    assert "glasses connected" in texts


def test_empty_frames_render_a_message_instead_of_an_empty_axis() -> None:
    got = render_all(HistoryFrames.from_records([]))
    assert "no client connection was acknowledged" in got["connected"].svg
    assert "no disrupted connection recovered" in got["ttr-cdf"].svg
    assert "no cloud probe answered" in got["cloud-metrics"].svg
    for plot in got.values():
        ET.fromstring(plot.svg)


def test_delivery_plot_labels_the_counts_of_lost_messages(
        rendered: dict[str, plots.Plot]) -> None:
    assert "lost 3, duplicated 0" in rendered["delivery"].alt
    root = ET.fromstring(rendered["delivery"].svg)
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert "3" in texts


def test_many_probes_are_drawn_as_binned_quantiles_not_points() -> None:
    n = plots.MAX_POINTS + 500
    latency = pd.DataFrame({"t_s": np.linspace(0, 100, n), "client_id": "u",
                            "rtt_ms": np.linspace(1, 50, n)})
    rate = pd.DataFrame({"t_s": [1.0], "sent_per_s": [1.0], "received_per_s": [1.0]})
    faults = pd.DataFrame({"fault": ["f"], "target": ["app-link"], "toxic": ["down"],
                           "start_s": [10.0], "end_s": [12.0]})
    plot = plots.plot_traffic(rate, latency, faults)
    root = ET.fromstring(plot.svg)
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert {"p50", "p95", "max"} <= set(texts)
    assert "probe round trip" not in texts
    assert len(plot.svg) < 200_000
