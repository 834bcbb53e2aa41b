"""Seeding helpers for reporting tests: waves of known answers, with tallies rebuilt from them."""
from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import insert

from app.extensions import db
from app.models import Answer, Campaign, Invitation, Response, ServiceArea, Stakeholder, SurveyDefinition, Wave
from app.services import comment_scores
from app.services.tallies import rebuild_wave_tallies
from tests.factories import make_area, make_campaign, make_provider

_people = itertools.count(1)
START = datetime(2025, 1, 15, 9, 0, tzinfo=timezone.utc)


@dataclass
class AreaAnswers:
    """What one area received in one wave; lists are per respondent, in the same order."""

    satisfaction: list[int]
    recommend: list[int] | None = None  # defaults to a score that follows satisfaction
    comments: list[str | None] = field(default_factory=list)
    hours: list[float | None] = field(default_factory=list)
    reasons: list[list[str] | None] = field(default_factory=list)
    departments: list[str] | None = None  # defaults to "Finance" for everyone


@dataclass
class Seeded:
    campaign: Campaign
    areas: list[ServiceArea]
    waves: list[Wave]


def make_reporting_campaign(survey: SurveyDefinition, *, area_count: int = 2, min_group_size: int = 5,
                            provider=None, **fields) -> tuple[Campaign, list[ServiceArea]]:
    provider = provider or make_provider()
    areas = [make_area(provider, target_satisfaction=4.0, target_happiness=20) for _ in range(area_count)]
    campaign = make_campaign(survey, provider=provider, areas=areas, min_group_size=min_group_size, **fields)
    return campaign, areas


def add_wave(campaign: Campaign, survey: SurveyDefinition, label: str, answers: dict[ServiceArea, AreaAnswers], *,
             invited: int | None = None, index: int = 0, state: str = "closed") -> Wave:
    """One wave whose respondents answered each area as given. Respondent i of every area is the
    same person, so a response holds all of that person's area answers."""
    opens = START + timedelta(days=91 * index)
    wave = Wave(campaign=campaign, label=label, opens_at=opens, closes_at=opens + timedelta(days=14), state=state)
    db.session.add(wave)
    db.session.flush()
    questions = {q.code: q for q in survey.questions}
    people = max((len(a.satisfaction) for a in answers.values()), default=0)
    invited = max(invited or people, people)
    stakeholders = []
    for _ in range(invited):
        n = next(_people)
        stakeholders.append({"email": f"seed{n}-{uuid.uuid4().hex[:6]}@example.com", "name": f"Seed {n}",
                             "department": "Finance"})
    db.session.execute(insert(Stakeholder), stakeholders)
    ids = [s.id for s in db.session.scalars(db.select(Stakeholder).where(
        Stakeholder.email.in_([s["email"] for s in stakeholders])).order_by(Stakeholder.id))]
    invitations = [{"wave_id": wave.id, "stakeholder_id": sid, "state": "sent", "attempts": 1, "sent_at": opens,
                    "responded_at": opens + timedelta(hours=1) if i < people else None, "created_at": opens}
                   for i, sid in enumerate(ids)]
    db.session.execute(insert(Invitation), invitations)
    invitation_ids = list(db.session.scalars(db.select(Invitation.id).where(Invitation.wave_id == wave.id)
                                             .order_by(Invitation.stakeholder_id)))
    responses, rows = [], []
    for person in range(people):
        response_id = uuid.uuid4()
        department = "Finance"
        for area, given in answers.items():
            if person < len(given.satisfaction) and given.departments:
                department = given.departments[person]
        responses.append({"id": response_id, "wave_id": wave.id, "invitation_id": invitation_ids[person],
                          "submitted_at": opens + timedelta(hours=1), "department": department})
        for area, given in answers.items():
            if person >= len(given.satisfaction):
                continue
            score = given.satisfaction[person]
            recommend = given.recommend[person] if given.recommend else min(10, score * 2)
            rows.append(_row(response_id, wave.id, questions["satisfaction"].id, area.id, score=score))
            rows.append(_row(response_id, wave.id, questions["recommend"].id, area.id, score=recommend))
            if person < len(given.hours) and given.hours[person] is not None:
                rows.append(_row(response_id, wave.id, questions["time_lost"].id, area.id, hours=given.hours[person]))
            if person < len(given.reasons) and given.reasons[person]:
                rows.append(_row(response_id, wave.id, questions["reasons"].id, area.id, reasons=given.reasons[person]))
            if person < len(given.comments) and given.comments[person]:
                text = given.comments[person]
                rows.append(_row(response_id, wave.id, questions["comment"].id, area.id, text=text,
                                 **comment_scores.sentiment_columns(text, comment_scores.Thresholds(), area.code)))
    if responses:
        db.session.execute(insert(Response), responses)
    if rows:
        db.session.execute(insert(Answer), rows)
    rebuild_wave_tallies(wave.id)
    db.session.commit()
    return wave


def _row(response_id, wave_id, question_id, area_id, **values) -> dict:
    row = {"response_id": response_id, "wave_id": wave_id, "question_id": question_id, "service_area_id": area_id,
           "score": None, "hours": None, "reasons": None, "text": None, "sentiment_polarity": None,
           "sentiment_subjectivity": None, "sentiment_label": None, "sentiment_drivers": None,
           "analyzer_version": None, "sentiment_aspects": None, "shareable": False}
    row.update(values)
    return row


POSITIVE = "Quick, friendly and they fixed it first time. Excellent."
NEGATIVE = "Terrible, the ticket was closed without a fix and nobody called back."


def story(survey: SurveyDefinition, *, min_group_size: int = 5) -> Seeded:
    """Three waves, two areas. Area 0 improves sharply (significant); area 1 wobbles (noise).
    In the last wave area 1 has only 4 respondents."""
    campaign, areas = make_reporting_campaign(survey, min_group_size=min_group_size)
    first, second = areas
    w1 = add_wave(campaign, survey, "2025-Q1", {
        first: AreaAnswers([2, 2, 3, 2, 3, 2, 3, 2, 2, 3] * 2, comments=[NEGATIVE] * 6, hours=[4.0] * 20),
        second: AreaAnswers([4, 3, 4, 4, 3, 4, 4, 3, 4, 4], comments=[POSITIVE] * 5),
    }, invited=40, index=0)
    w2 = add_wave(campaign, survey, "2025-Q2", {
        first: AreaAnswers([4, 5, 4, 4, 5, 4, 5, 4, 4, 5] * 2, comments=[POSITIVE] * 5 + [NEGATIVE] * 2,
                           hours=[1.0] * 20, reasons=[["fast_response"]] * 8 + [["slow_response"]] * 2),
        second: AreaAnswers([4, 4, 3, 4, 3, 4, 4, 3, 4, 3], comments=[POSITIVE] * 5),
    }, invited=40, index=1)
    w3 = add_wave(campaign, survey, "2025-Q3", {
        first: AreaAnswers([5, 4, 5, 4, 5, 4, 5, 4, 5, 4] * 2, comments=[POSITIVE] * 6),
        second: AreaAnswers([1, 1, 1, 1], comments=[NEGATIVE] * 4, hours=[9.0] * 4),
    }, invited=40, index=2)
    return Seeded(campaign, areas, [w1, w2, w3])


RICH_COMMENTS = {
    "good": ["Quick, friendly and they fixed it first time. Excellent.",
             "Really impressed with how fast my request was handled.",
             "Very knowledgeable team, explained everything clearly."],
    "mixed": ["Used it twice this quarter for password resets.", "It works most of the time."],
    "bad": ["Terrible, the ticket was closed without a fix and nobody called back.",
            "Waited three days for a response to a priority ticket.",
            "VPN keeps dropping since the network change, terrible."],
}


def rich_story(survey: SurveyDefinition, *, waves: int = 6, people: int = 36, seed: int = 7) -> Seeded:
    """Several waves and four areas with believable spread, for browser tests and screenshots."""
    import random

    rng = random.Random(seed)
    campaign, areas = make_reporting_campaign(survey, area_count=4)
    names = ("Service Desk", "Network & Connectivity", "Hosting & Cloud", "Security Operations")
    for area, name in zip(areas, names):
        area.name = name
    db.session.commit()
    means = [(3.1, 0.25), (4.2, -0.2), (3.9, 0.0), (4.3, 0.02)]
    departments = ["Finance", "Sales", "Engineering", "Operations", "Legal"]
    made = []
    for index in range(waves):
        answers = {}
        for area, (start, step) in zip(areas, means):
            count = people if not (area is areas[2] and index == waves - 1) else 4
            scores = [max(1, min(5, round(rng.gauss(start + step * index, 0.8)))) for _ in range(count)]
            comments = [rng.choice(RICH_COMMENTS["good" if s >= 4 else "mixed" if s == 3 else "bad"])
                        if rng.random() < 0.4 else None for s in scores]
            answers[area] = AreaAnswers(
                scores, recommend=[max(0, min(10, round(s * 2.1 - 0.3 + rng.gauss(0, 1.2)))) for s in scores],
                comments=comments, hours=[round(rng.expovariate(1 / max(0.3, (5 - s) * 1.5)), 1) for s in scores],
                reasons=[rng.sample(["fast_response", "fixed_first_time", "friendly_staff"], 2) if s >= 4
                         else rng.sample(["slow_response", "not_fixed", "no_updates", "outages"], 2) for s in scores],
                departments=[rng.choice(departments) for _ in scores])
        made.append(add_wave(campaign, survey, f"{2025 + index // 4}-Q{index % 4 + 1}", answers,
                             invited=int(people * 1.6), index=index,
                             state="open" if index == waves - 1 else "closed"))
    return Seeded(campaign, areas, made)
