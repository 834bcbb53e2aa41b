"""The PDF review pack: pages a vendor manager puts in front of the provider, checked by their text."""
from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select, update

from app.models import Answer
from app.services import charts
from app.services.reporting import resolve_scope
from app.services.review_pack import PackMeta, mask_personal_details, pack_pages
from tests.factories import login, make_area, make_campaign, make_user
from tests.functional.test_exports import seed_wave

OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "review-pack"


@pytest.fixture
def campaign(db, survey):
    desk = make_area(code="service-desk", name="Service Desk")
    network = make_area(desk.provider, code="network", name="Network")
    return make_campaign(survey, provider=desk.provider, areas=[desk, network])


def test_mask_personal_details():
    text = "Call me on +44 20 7946 0958 or mail jo.smith@example.com, ticket 12345."
    assert mask_personal_details(text) == "Call me on [phone] or mail [email], ticket 12345."


def test_pack_has_cover_scorecard_area_pages_and_shareable_comments(manager_client, db, survey, campaign):
    start = datetime(2026, 4, 10, 9, tzinfo=timezone.utc)
    seed_wave(db, survey, campaign, "2026-Q2", [3, 3, 4, 2, 3, 3], opens_at=start)
    seed_wave(db, survey, campaign, "2026-Q3", [4, 5, 4, 4, 5, 4], opens_at=start + timedelta(days=91),
              comments={0: "Brilliant help, call me on 0207 946 0958", 1: "Private remark about my manager"})
    shared = db.session.scalar(select(Answer).where(Answer.text.like("Brilliant%")))
    db.session.execute(update(Answer).where(Answer.id == shared.id).values(shareable=True))
    db.session.commit()

    response = manager_client.get("/exports/review-pack.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    reader = PdfReader(io.BytesIO(response.data))
    pages = [page.extract_text() for page in reader.pages]
    # cover, scorecard, one page per area (Service Desk, Network), comments
    assert len(pages) == 5
    assert "Quarterly service review" in pages[0] and "2026-Q3" in pages[0]
    assert "Scorecard" in pages[1] and "Service Desk" in pages[1] and "Network" in pages[1]
    assert "Service Desk" in pages[2] and "Network" in pages[3]
    assert "Brilliant help" in pages[4] and "[phone]" in pages[4] and "0958" not in pages[4]
    assert "Private remark" not in "".join(pages), "only comments marked shareable go to the provider"
    assert reader.metadata.title.startswith("Quarterly service review")

    # Save the pages as PNG for a person to look at.
    OUTPUT.mkdir(parents=True, exist_ok=True)
    scope = resolve_scope()
    meta = PackMeta(generated_at=datetime.now(timezone.utc), prepared_by="Test")
    for index, figure in enumerate(pack_pages(scope, meta)):
        (OUTPUT / f"page-{index + 1}.png").write_bytes(charts.render(figure, "png"))
    assert (OUTPUT / "page-1.png").stat().st_size > 10_000


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
    db.session.execute(update(Answer).where(Answer.text.in_([broken_tex, emoji])).values(shareable=True))
    db.session.commit()

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
