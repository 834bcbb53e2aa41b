"""Seeding helpers that answer every question of a survey definition, whatever its kinds, so reports of
sub-ratings, provider-wide questions and the every-question test have data; drivers follow a known recipe."""
from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy import insert

from app.extensions import db
from app.models import Answer, Campaign, Response, ServiceArea, SurveyDefinition, Wave
from app.services import comment_scores
from app.services.tallies import rebuild_wave_tallies
from tests.reporting_seed import _row, make_reporting_campaign

START = datetime(2025, 1, 15, 9, 0, tzinfo=timezone.utc)
DEPARTMENTS = ("Finance", "Sales", "Engineering")

# How each sub-rating follows satisfaction: (shift, noise sd). Resolution quality follows it closely and sits a
# point lower (the driver to fix first); expertise is unrelated to it (drawn at random).
DRIVER_RECIPE = {"resolution_quality": (-1.0, 0.35), "responsiveness": (0.3, 0.9), "communication": (0.5, 1.4)}
COMMENT = "They were quick and friendly, and kept me informed."
PROVIDER_COMMENT = "Hold a monthly service review with us, not only quarterly."


def _clip(value: float, low: int, high: int) -> int:
    return max(low, min(high, int(round(value))))


def _answer(rng: random.Random, question, satisfaction: int, response_id, wave_id: int, area: ServiceArea | None):
    options = question.options or {}
    kind, code = question.kind, question.code
    area_id = area.id if area is not None else None
    low = question.min_value if question.min_value is not None else 1
    high = question.max_value if question.max_value is not None else 5
    if kind == "rating":
        if options.get("metric") == "satisfaction":
            return _row(response_id, wave_id, question.id, area_id, score=satisfaction)
        if code in DRIVER_RECIPE:
            shift, noise = DRIVER_RECIPE[code]
            score = _clip(satisfaction + shift + rng.gauss(0, noise), low, high)
        else:
            score = rng.randint(low, high)
        return _row(response_id, wave_id, question.id, area_id, score=score)
    if kind == "nps":
        return _row(response_id, wave_id, question.id, area_id, score=_clip(satisfaction * 2.1 - 0.3, 0, 10))
    if kind == "hours":
        return _row(response_id, wave_id, question.id, area_id, hours=float(5 - satisfaction))
    if kind in ("reasons", "choice"):
        pool = options.get("choices") or (options.get("good") if satisfaction >= options.get("good_from", 4)
                                          else options.get("bad")) or []
        return _row(response_id, wave_id, question.id, area_id, reasons=[pool[0]["code"]]) if pool else None
    if kind == "comment":
        text = COMMENT if area is not None else PROVIDER_COMMENT
        return _row(response_id, wave_id, question.id, area_id, text=text, shareable=True,
                    **comment_scores.sentiment_columns(text, comment_scores.Thresholds(),
                                                       area.code if area is not None else None))
    raise AssertionError(f"no seeding rule for question kind {kind!r}")


def answer_every_question(campaign: Campaign, survey: SurveyDefinition, label: str, *, people: int = 40,
                          index: int = 0, seed: int = 1, state: str = "closed",
                          departments: tuple[str, ...] = DEPARTMENTS) -> Wave:
    """One wave in which `people` people answer every question of `survey` for every area of the campaign."""
    rng = random.Random(seed)
    opens = START + timedelta(days=91 * index)
    wave = Wave(campaign=campaign, label=label, opens_at=opens, closes_at=opens + timedelta(days=14), state=state)
    db.session.add(wave)
    db.session.flush()
    responses, rows = [], []
    for person in range(people):
        response_id = uuid.uuid4()
        responses.append({"id": response_id, "wave_id": wave.id, "submitted_at": opens + timedelta(hours=1),
                          "department": departments[person % len(departments)]})
        for area in campaign.service_areas:
            satisfaction = _clip(rng.gauss(3.4, 1.1), 1, 5)
            for question in survey.questions:
                if question.scope == "area":
                    rows.append(_answer(rng, question, satisfaction, response_id, wave.id, area))
        for question in survey.questions:
            if question.scope == "relationship":
                rows.append(_answer(rng, question, _clip(rng.gauss(3.5, 1.0), 1, 5), response_id, wave.id, None))
    db.session.execute(insert(Response), responses)
    db.session.execute(insert(Answer), [r for r in rows if r is not None])
    rebuild_wave_tallies(wave.id)
    db.session.commit()
    return wave


def long_survey_campaign(survey: SurveyDefinition, *people: int) -> tuple[Campaign, list[ServiceArea]]:
    """A campaign of one area with a closed quarterly wave per number in `people` (2025-Q1 first), each answered
    in full by that many people (`answer_every_question`, seeds 1, 2, ...): the provider-level pages' tests."""
    campaign, areas = make_reporting_campaign(survey, area_count=1)
    for index, count in enumerate(people):
        label = f"{2025 + index // 4}-Q{index % 4 + 1}"
        answer_every_question(campaign, survey, label, people=count, index=index, seed=index + 1)
    return campaign, areas
