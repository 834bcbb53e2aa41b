"""`flask sentiment rescore` re-scores stored comments and keeps managers' corrections."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from sqlalchemy import select

from app.models import Answer, Response
from app.services import comment_scores, sentiment
from tests.factories import make_area, make_campaign, make_wave


def _comment(db, wave, question, area, text, **columns):
    response = Response(id=uuid.uuid4(), wave_id=wave.id, submitted_at=datetime.now(timezone.utc))
    answer = Answer(response=response, wave_id=wave.id, question_id=question.id, service_area_id=area.id, text=text,
                    **columns)
    db.session.add_all([response, answer])
    db.session.commit()
    return answer


def test_rescore_updates_scores_but_not_corrections(db, survey, runner):
    area = make_area()
    campaign = make_campaign(survey, provider=area.provider, areas=[area])
    wave, other = make_wave(campaign, label="2026-Q4"), make_wave(campaign, label="2026-Q3")
    comment = survey.question("comment")
    stale = _comment(db, wave, comment, area, "SLA breached again and nobody owned it",
                     sentiment_label="positive", sentiment_polarity=0.5, analyzer_version="old")
    corrected = _comment(db, wave, comment, area, "Great, another outage", sentiment_label="positive",
                         label_override="neutral", analyzer_version="old")
    elsewhere = _comment(db, other, comment, area, "Not helpful at all", analyzer_version="old")

    result = runner.invoke(args=["sentiment", "rescore", "--wave", "2026-Q4", "--chunk-size", "1"])
    assert result.exit_code == 0, result.output
    assert "Re-scored 2 comments." in result.output

    db.session.expire_all()
    stale, corrected, elsewhere = (db.session.get(Answer, a.id) for a in (stale, corrected, elsewhere))
    assert stale.sentiment_label == "negative" and stale.sentiment_polarity < 0
    assert stale.analyzer_version == comment_scores.ANALYZER_VERSION
    assert any("breached" in d["phrase"] for d in stale.sentiment_drivers)
    assert corrected.sentiment_label == "negative"
    assert corrected.label_override == "neutral" and corrected.effective_label == "neutral"
    assert elsewhere.analyzer_version == "old", "other waves are left alone"

    again = runner.invoke(args=["sentiment", "rescore", "--stale-only"])
    assert "Re-scored 1 comments." in again.output
    assert db.session.scalars(select(Answer.analyzer_version).distinct()).all() == [comment_scores.ANALYZER_VERSION]
