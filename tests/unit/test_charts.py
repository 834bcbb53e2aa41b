"""Charts render valid, deterministic SVG/PNG from plain data, and alt text states the facts shown."""

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from app.services import charts
from app.services.charts import (
    TrendPoint,
    build_bar_figure,
    build_distribution_figure,
    build_heatmap_figure,
    build_sentiment_trend_figure,
    build_sparkline_figure,
    build_trend_figure,
    describe_bars,
    describe_distribution,
    describe_heatmap,
    describe_sentiment,
    describe_trend,
    render,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SVG_NS = "{http://www.w3.org/2000/svg}"

POINTS = [
    TrendPoint("2026-Q1", 34, 3.6, 3.3, 3.9, False),
    TrendPoint("2026-Q2", 3, None, None, None, True),
    TrendPoint("2026-Q3", 1, 4.0, 1.0, 5.0, False),
    TrendPoint("2026-Q4", 41, 4.1, 3.9, 4.3, False),
]
WAVES = ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
AREAS = ["Service Desk", "Network"]


def draw(build, *args, fmt="svg", **kwargs) -> bytes:
    """A chart as the dashboard serves it: built from plain data, then rendered to bytes."""
    return render(build(*args, **kwargs), fmt)


def all_charts(fmt):
    return {
        "trend": draw(build_trend_figure, POINTS, target=4.0, title="Service Desk", y_label="Mean (1-5)", fmt=fmt),
        "distribution": draw(
            build_distribution_figure, WAVES,
            [[0.1, 0.1, 0.2, 0.4, 0.2], [0, 0, 0, 0, 0], [0, 0, 0, 1, 0], [0.05, 0, 0.15, 0.5, 0.3]],
            ["1", "2", "3", "4", "5"], suppressed=[False, True, False, False], fmt=fmt),
        "sentiment": draw(build_sentiment_trend_figure, WAVES, [0.2, None, -0.1, 0.4], [0.2, None, 0.5, 0.1],
                          fmt=fmt),
        "heatmap": draw(build_heatmap_figure, AREAS, WAVES, [[-0.1, None, 0.0, 0.05], [None, None, None, None]],
                        [["3.6", "", "4.0", "4.2"], ["", "", "", ""]], fmt=fmt),
        "bars": draw(build_bar_figure, ["Slow response", "Not fixed first time"], [12, 7], title="Reasons",
                     x_label="Responses", fmt=fmt),
    }


def svg_root(data: bytes) -> ET.Element:
    root = ET.fromstring(data)
    assert root.tag == f"{SVG_NS}svg"
    return root


@pytest.fixture(scope="module")
def svg_charts():
    return all_charts("svg")


@pytest.fixture(scope="module")
def png_charts():
    return all_charts("png")


def test_every_chart_renders_valid_svg_and_png(svg_charts, png_charts):
    for name, data in svg_charts.items():
        root = svg_root(data)
        assert root.findall(f".//{SVG_NS}path"), name
    for name, data in png_charts.items():
        assert data.startswith(PNG_MAGIC), name


def test_identical_data_gives_identical_bytes(svg_charts, png_charts):
    assert all_charts("svg") == svg_charts
    assert all_charts("png") == png_charts
    sparkline = [3.5, None, 4.1]
    assert draw(build_sparkline_figure, sparkline, target=4.0) == draw(build_sparkline_figure, sparkline, target=4.0)


def test_different_data_gives_different_bytes():
    changed = [TrendPoint("2026-Q1", 34, 3.7, 3.4, 4.0, False), *POINTS[1:]]
    original = draw(build_trend_figure, POINTS, target=4.0, title="Service Desk", y_label="Mean (1-5)")
    assert draw(build_trend_figure, changed, target=4.0, title="Service Desk", y_label="Mean (1-5)") != original


def test_svg_has_no_render_date(svg_charts):
    assert b"<dc:date>" not in svg_charts["trend"]


def test_trend_chart_survives_all_suppressed_missing_target_and_unbounded_band():
    hidden = [TrendPoint("2026-Q1", 2, None, None, None, True), TrendPoint("2026-Q2", 0, None, None, None, True)]
    svg_root(draw(build_trend_figure, hidden, target=None, title="t", y_label="y"))
    svg_root(draw(build_trend_figure, [], target=4.0, title="t", y_label="y"))
    lone = [TrendPoint("2026-Q1", 1, 4.0, float("-inf"), float("inf"), False)]
    svg_root(draw(build_trend_figure, lone, target=4.0, title="t", y_label="y"))


def test_trend_axis_is_fixed_to_the_scale_and_never_shows_a_suppressed_n():
    fig = build_trend_figure(POINTS, target=4.0, scale=(1, 5), title="t", y_label="y")
    ax = fig.axes[0]
    low, high = ax.get_ylim()
    assert low < 1 < 5 < high and high - low < 4.5
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks[0] == "2026-Q1\nn=34"
    assert ticks[1] == "2026-Q2\nn<5"  # the real count of a suppressed wave is not shown
    texts = [t.get_text() for t in ax.texts]
    assert "Target 4.0" in texts


def test_sparkline_is_a_small_svg_without_axes_text():
    data = draw(build_sparkline_figure, [3.6, 3.8, None, 4.1], target=4.0, width_px=120, height_px=28)
    root = svg_root(data)
    assert root.get("width") == "90pt" and root.get("height") == "21pt"  # 120 x 28 CSS px
    assert not root.findall(f".//{SVG_NS}text")
    svg_root(draw(build_sparkline_figure, [None, None], target=None))


def test_render_rejects_unknown_format():
    with pytest.raises(ValueError):
        render(build_trend_figure(POINTS, target=4.0, title="t", y_label="y"), "gif")


def test_describe_trend_mentions_first_last_values_and_target():
    text = describe_trend(POINTS, 4.0, "Mean satisfaction for Service Desk")
    assert text == (
        "Mean satisfaction for Service Desk rose from 3.6 in 2026-Q1 to 4.1 in 2026-Q4; "
        "target 4.0 met in 2 of 3 reported waves. 1 wave not shown (too few responses)."
    )


def test_describe_trend_edge_cases():
    falling = [TrendPoint("A", 9, 4.4, 4, 4.8, False), TrendPoint("B", 9, 3.9, 3.5, 4.3, False)]
    assert describe_trend(falling, None, "Mean").startswith("Mean fell from 4.4 in A to 3.9 in B")
    flat = [TrendPoint("A", 9, 4.01, 4, 4.8, False), TrendPoint("B", 9, 3.99, 3.5, 4.3, False)]
    assert "was 4.0 in both A and B" in describe_trend(flat, None, "Mean")
    assert "no wave" in describe_trend([TrendPoint("A", 2, None, None, None, True)], 4.0, "Mean")


def test_other_descriptions_state_the_data():
    assert "Neutral (50%)" in describe_distribution(["Q1"], [[0.2, 0.5, 0.3]], ["Bad", "Neutral", "Good"])
    assert "+0.40 in 2026-Q4, 10% negative" in describe_sentiment(WAVES, [0.2, None, -0.1, 0.4],
                                                                  [0.2, None, 0.5, 0.1])
    heat = describe_heatmap(AREAS, WAVES, [[-0.1, None, 0.0, -0.05], [None, None, None, 0.1]])
    assert "2 of 4 reported cells" in heat and "in 2026-Q4, below target: Service Desk" in heat
    assert describe_bars(["Slow", "Rude"], [3, 9], "Reasons") == "Reasons: Rude is highest at 9, of 2 items."


def test_charts_package_never_uses_pyplot():
    for module in Path(charts.__file__).parent.glob("*.py"):
        assert "pyplot" not in module.read_text(), module.name


def test_describing_charts_does_not_import_matplotlib():
    """Pages, the CLI and the dispatcher import the chart modules; only drawing may load matplotlib."""
    code = ("import sys, app.services.charts, app.services.chart_specs, app.services.review_pack; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib'))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).resolve().parents[2])
    assert result.stdout.strip() == "[]"
