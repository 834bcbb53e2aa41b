"""Every question of every survey in surveys/ is reported: it shows on at least one dashboard page and in at
least one CSV file. A question added to a definition without a report fails here.

Each definition is loaded, a campaign asks it of two waves of people who answer every question, and then
the test reads the dashboard pages a manager can open (overview, each area, comments, provider relationship,
scorecard) and every CSV kind. A question counts as shown on a page when the page's text (or a chart's
alt text or title) names it: by its code, its code in words ("time lost"), the measure it feeds
("happiness" for the recommendation question, "hours lost" for hours) or its own wording. It counts as
exported when a CSV has a column named by its code (alone or as "<area>.<code>") or a cell holding its code.
Names are matched in the page's text, so a common word can match elsewhere ("communication" is also an
aspect of comments): the test catches a question reported nowhere, not one reported in the wrong place.
"""
from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser

import pytest

from app.services.catalog import latest_definition
from app.services.exports import KINDS
from tests.conftest import REPO_ROOT
from tests.question_seed import answer_every_question
from tests.reporting_seed import make_reporting_campaign

# The measure a kind of question feeds, as the dashboard names it ("3.2 working hours lost per respondent").
KIND_MEASURES = {"hours": "hours lost", "nps": "happiness"}
DEFINITIONS = sorted(path.stem for path in (REPO_ROOT / "surveys").glob("*.yaml"))


class _Text(HTMLParser):
    """What a reader sees: text outside scripts and styles, plus alt texts, titles and ARIA labels."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        self.parts.extend(value for name, value in attrs if name in ("alt", "title", "aria-label") and value)

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return re.sub(r"\s+", " ", " ".join(parser.parts)).lower()


def names_of(question, area_names: list[str]) -> set[str]:
    names = {question.code.lower(), question.code.replace("_", " ").lower()}
    metric = (question.options or {}).get("metric")
    if metric:
        names.add(metric.lower())
    if question.kind in KIND_MEASURES:
        names.add(KIND_MEASURES[question.kind])
    text = question.text.lower()
    names |= {text.replace("{area}", area.lower()) for area in area_names} if "{area}" in text else {text}
    return {re.sub(r"\s+", " ", name) for name in names}


def csv_names(body: str) -> set[str]:
    """Column names (and the question code after an area's "<area>." prefix) and every cell."""
    rows = list(csv.reader(io.StringIO(body)))
    if not rows:
        return set()
    found = set(rows[0]) | {column.rsplit(".", 1)[-1] for column in rows[0]}
    for row in rows[1:]:
        found.update(row)
    return found


@pytest.mark.parametrize("code", DEFINITIONS)
def test_every_question_appears_on_a_page_and_in_a_csv(manager_client, survey, code):
    definition = latest_definition(code)
    assert definition is not None and definition.questions, f"surveys/{code}.yaml did not load"
    campaign, areas = make_reporting_campaign(definition, area_count=2)
    answer_every_question(campaign, definition, "2025-Q1", people=30, index=0, seed=1)
    answer_every_question(campaign, definition, "2025-Q2", people=30, index=1, seed=2)
    query = f"campaign={campaign.id}"

    pages = {"overview": f"/dashboard/?{query}", "comments": f"/dashboard/comments?{query}",
             "relationship": f"/dashboard/relationship?{query}", "scorecard": f"/dashboard/scorecard?{query}",
             **{f"area {a.code}": f"/dashboard/areas/{a.id}?{query}" for a in areas}}
    texts = {}
    for name, url in pages.items():
        response = manager_client.get(url)
        assert response.status_code == 200, (name, response.status_code)
        texts[name] = visible_text(response.get_data(as_text=True))

    files = {}
    for kind in KINDS:
        response = manager_client.get(f"/exports/{kind}.csv?{query}")
        assert response.status_code == 200, (kind, response.status_code)
        files[kind] = csv_names(response.get_data(as_text=True))

    area_names = [a.name for a in areas]
    not_on_a_page = [q.code for q in definition.questions
                     if not any(name in text for name in names_of(q, area_names) for text in texts.values())]
    not_in_a_csv = [q.code for q in definition.questions if not any(q.code in found for found in files.values())]
    assert not not_on_a_page, f"{code}: asked but shown on no dashboard page: {', '.join(not_on_a_page)}"
    assert not not_in_a_csv, f"{code}: asked but in no CSV file: {', '.join(not_in_a_csv)}"
