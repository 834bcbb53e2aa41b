"""The PDF review pack: pages a vendor manager puts in front of the provider, checked by their text."""
from __future__ import annotations

import io
import os
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pypdf import PdfReader

from app.models import Answer
from app.services import charts, reporting
from app.services.reporting import resolve_scope
from app.services.review_pack import PackMeta, drawable, mask_personal_details, pack_pages
from tests.factories import login, make_area, make_campaign, make_user, share_comments
from tests.functional.test_exports import seed_wave

OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "review-pack"


@pytest.fixture
def campaign(db, survey):
    desk = make_area(code="service-desk", name="Service Desk")
    network = make_area(desk.provider, code="network", name="Network & Connectivity")
    security = make_area(desk.provider, code="security", name="Security Operations")
    return make_campaign(survey, provider=desk.provider, areas=[desk, network, security])


def _raster_images(page) -> list[str]:
    objects = (page.get("/Resources") or {}).get("/XObject") or {}
    return [name for name, ref in objects.items() if ref.get_object().get("/Subtype") == "/Image"]


def test_mask_personal_details():
    text = "Call me on +44 20 7946 0958 or mail jo.smith@example.com, ticket 12345."
    assert mask_personal_details(text) == "Call me on [phone] or mail [email], ticket 12345."


def test_pack_has_cover_scorecard_area_pages_and_shareable_comments(manager_client, db, survey, campaign):
    start = datetime(2026, 4, 10, 9, tzinfo=timezone.utc)
    seed_wave(db, survey, campaign, "2026-Q2", [3, 3, 4, 2, 3, 3], opens_at=start)
    latest = seed_wave(db, survey, campaign, "2026-Q3", [4, 5, 4, 4, 5, 4], opens_at=start + timedelta(days=91),
                       comments={0: "Brilliant help, call me on 0207 946 0958", 1: "Private remark about my manager",
                                 2: "😡 slow ✓ naïve"})
    share_comments(Answer.text.like("Brilliant%") | Answer.text.like("%naïve"))

    response = manager_client.get("/exports/review-pack.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    reader = PdfReader(io.BytesIO(response.data))
    pages = [page.extract_text() for page in reader.pages]
    # cover, contents, scorecard, one page per area (three), the provider as a whole (the survey asks about
    # it; nobody answered that part here), comments
    assert len(pages) == 8
    assert "Quarterly service review" in pages[0] and "2026-Q3" in pages[0]
    assert "Contents" in pages[1] and "Security Operations" in pages[1] and "What employees said" in pages[1]
    assert "Scorecard" in pages[2]
    flat_scorecard = " ".join(pages[2].split())
    for name in ("Service Desk", "Network & Connectivity", "Security Operations"):
        assert name in flat_scorecard, f"{name} whole on the scorecard"
    assert "Service Desk" in pages[3] and "Network & Connectivity" in pages[4] and "Security Operations" in pages[5]
    assert "The provider as a whole" in pages[6] and "no answers" in pages[6]
    for number, text in enumerate(pages, start=1):
        assert f"{number} / 8" in text, f"page {number} is numbered"
        assert "\ufffd" not in text and "□" not in text
        assert not _raster_images(reader.pages[number - 1]), f"page {number}: charts are vectors, not bitmaps"
    comments = pages[7]
    assert "Brilliant help" in comments and "[phone]" in comments and "0958" not in comments
    assert "slow" in comments and "naïve" in comments  # 😡 is in DejaVu Sans, so it stays
    assert comments.count("Brilliant help") == 1 and "2026-Q3" in comments, "once, with its wave"
    assert "Private remark" not in "".join(pages), "only comments marked shareable go to the provider"
    assert "Provisional" not in "".join(pages), "every wave is closed"
    assert reader.metadata.title.startswith("Quarterly service review")

    # Save the pages as PNG for a person to look at, as drawn and as a PDF viewer shows them.
    OUTPUT.mkdir(parents=True, exist_ok=True)
    scope = resolve_scope()
    meta = PackMeta(generated_at=datetime.now(timezone.utc), prepared_by="Test")
    for index, figure in enumerate(pack_pages(scope, meta)):
        (OUTPUT / f"page-{index + 1}.png").write_bytes(charts.render(figure, "png"))
    assert (OUTPUT / "page-1.png").stat().st_size > 10_000
    _render_with_pdftoppm(response.data, len(pages))

    # While the latest wave is open, every page says its figures will move.
    latest.state = "open"
    db.session.commit()
    reporting.clear_cache()
    note = f"Provisional: 2026-Q3 is open until {latest.closes_at:%d %B %Y}; figures will move"
    reopened = PdfReader(io.BytesIO(manager_client.get("/exports/review-pack.pdf").data))
    open_pages = [page.extract_text() for page in reopened.pages]
    for number, text in enumerate(open_pages, start=1):
        assert note in " ".join(text.split()), f"page {number} says the wave is provisional"


def _render_with_pdftoppm(pdf: bytes, page_count: int) -> None:
    """Every page rendered by poppler, the way a PDF viewer shows it, saved under test-output/."""
    if not shutil.which("pdftoppm"):
        if os.environ.get("CI") == "true":
            pytest.fail("pdftoppm (poppler-utils) is required under CI; `make test` installs it")
        pytest.skip("pdftoppm (poppler-utils) is not installed; `make test` installs it")
    target = OUTPUT / "pdftoppm"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    (target / "pack.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "80", str(target / "pack.pdf"), str(target / "page")],
                   check=True, timeout=120)
    rendered = sorted(target.glob("page-*.png"))
    assert len(rendered) == page_count
    assert all(path.stat().st_size > 5_000 for path in rendered)


def test_characters_without_a_glyph_are_dropped_not_boxed():
    assert drawable("Great team 👍🏽 — 谢谢, שלום") == "Great team — , שלום"
    assert drawable("😡 slow ✓ naïve") == "😡 slow ✓ naïve"


def test_pack_needs_a_manager(client, db, survey, campaign):
    assert client.get("/exports/review-pack.pdf").status_code == 302
    login(client, make_user(role="provider", provider=campaign.provider))
    assert client.get("/exports/review-pack.pdf").status_code == 403


@pytest.mark.filterwarnings("ignore:Glyph .* missing from font")  # a box in place of the emoji, not a crash
def test_user_text_is_drawn_as_typed_never_as_mathtext(manager_client, db, survey):
    """A `$` in a comment or a name is a dollar sign: `$\\frac{1}{$` used to make the pack answer 500."""
    dollars = make_area(code="dollars", name="$x$ budget")
    plain = make_area(dollars.provider, code="plain", name="Network")
    campaign = make_campaign(survey, provider=dollars.provider, areas=[dollars, plain])
    broken_tex = r"Costs went up by $\frac{1}{$ again"
    emoji = "Great team 👍🏽 — 谢谢, שלום"
    seed_wave(db, survey, campaign, "2026-Q3", [4, 5, 4, 4, 5, 4],
              opens_at=datetime(2026, 7, 10, 9, tzinfo=timezone.utc), comments={0: broken_tex, 1: emoji})
    share_comments(Answer.text.in_([broken_tex, emoji]))

    response = manager_client.get("/exports/review-pack.pdf")

    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    assert r"$\frac{1}{$" in text
    assert "$x$ budget" in text
    assert "Great team" in text


def test_chart_labels_are_drawn_as_typed():
    """The dashboard's charts take area names, wave and reason labels from data too."""
    tex = r"$\frac{1}{$"
    figures = [
        charts.build_bar_figure([f"{tex} reason", "$x$ budget"], [40.0, 60.0], title=f"Why {tex}",
                                x_label="% of $people"),
        charts.build_trend_figure([charts.TrendPoint(label="$Q1$", n=6, mean=4.0, ci_low=3.5, ci_high=4.5,
                                                     suppressed=False)],
                                  target=4.2, title=f"{tex} trend", y_label="$y$"),
        charts.build_heatmap_figure(["$x$ budget"], [tex], [[0.5]], [["4.1"]], title="$Heat$"),
    ]
    for figure in figures:
        assert charts.render(figure, "png").startswith(b"\x89PNG") and b"<svg" in charts.render(figure, "svg")
        buffer = io.BytesIO()
        with charts.chart_style():
            figure.savefig(buffer, format="pdf")
        text = "".join(page.extract_text() for page in PdfReader(buffer).pages)
        assert "$" in text and (tex in text or "$x$" in text), text


def test_comments_pages_never_repeat_a_comment(manager_client, db, survey, campaign):
    same = "The outage lasted four hours with no status updates."
    seed_wave(db, survey, campaign, "2026-Q3", [2, 2, 3, 2, 4, 2],
              opens_at=datetime(2026, 7, 10, 9, tzinfo=timezone.utc),
              comments={0: same, 1: same, 2: same.upper(), 3: "Slow to answer the phone."})
    share_comments(Answer.text.is_not(None))
    db.session.commit()

    reader = PdfReader(io.BytesIO(manager_client.get("/exports/review-pack.pdf").data))
    comments = " ".join(" ".join(page.extract_text().split()) for page in reader.pages[-1:])
    assert comments.casefold().count(same.casefold()) == 1
    assert "Slow to answer the phone." in comments


def test_no_text_runs_past_the_edge_of_any_page(db, survey, campaign):
    """Every piece of text the pack draws lies inside its page, measured by matplotlib's own renderer on
    the pages as built: long area names, comments and example clauses are wrapped or shortened, never cut
    by the paper's edge."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    start = datetime(2026, 4, 10, 9, tzinfo=timezone.utc)
    long_comment = ("The VPN keeps dropping every afternoon and nobody told us why; " * 3).strip()
    seed_wave(db, survey, campaign, "2026-Q2", [3, 3, 4, 2, 3, 3], opens_at=start)
    seed_wave(db, survey, campaign, "2026-Q3", [2, 2, 3, 2, 2, 2], opens_at=start + timedelta(days=91),
              comments={i: long_comment + f" ({i})" for i in range(6)})
    share_comments(Answer.text.is_not(None))
    db.session.commit()
    scope = resolve_scope(provider_id=campaign.provider_id, campaign_id=campaign.id, first_wave_id=None,
                          last_wave_id=None, department=None)
    outside = []
    with charts.chart_style():
        pages = list(pack_pages(scope, PackMeta(generated_at=datetime.now(timezone.utc), prepared_by="test")))
        assert len(pages) >= 6
        for number, fig in enumerate(pages, start=1):
            renderer = FigureCanvasAgg(fig).get_renderer()
            fig.draw(renderer)
            page = fig.bbox
            for text in fig.findobj(Text):
                if not text.get_visible() or not text.get_text().strip():
                    continue
                box = text.get_window_extent(renderer)
                if box.x0 < page.x0 - 1 or box.x1 > page.x1 + 1 or box.y0 < page.y0 - 1 or box.y1 > page.y1 + 1:
                    outside.append((number, text.get_text()[:40], [round(v) for v in box.extents]))
    assert not outside, outside
