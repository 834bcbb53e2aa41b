"""Sentiment columns of comment answers: scoring one comment (overall and per service aspect), and
re-scoring stored ones in chunks."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.models import Answer, Question, Response, ServiceArea, Wave
from app.services import aspects, sentiment
from app.services.tallies import TalliedComment, add_to_tallies, comment_tally_keys

# The version stored with each score: the sentiment lexicon's and the aspect taxonomy's, so editing either
# makes `flask sentiment rescore --stale-only` pick the comment up again.
ANALYZER_VERSION = f"{sentiment.ANALYZER_VERSION}+asp.{aspects.TAXONOMY.version}"


@dataclass(frozen=True)
class Thresholds:
    positive: float = sentiment.DEFAULT_POSITIVE_THRESHOLD
    negative: float = sentiment.DEFAULT_NEGATIVE_THRESHOLD

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Thresholds:
        """The thresholds an app is configured with (SENTIMENT_POSITIVE/NEGATIVE_THRESHOLD)."""
        return cls(config["SENTIMENT_POSITIVE_THRESHOLD"], config["SENTIMENT_NEGATIVE_THRESHOLD"])


def sentiment_columns(text: str, thresholds: Thresholds, area_code: str | None = None) -> dict[str, Any]:
    """The Answer column values for one comment: score, label, drivers, the aspects it talks about with
    their own sentiment (`area_code` selects the cues that apply to its service area), and the version."""
    analysis = aspects.analyze_comment(text, area_code, positive_threshold=thresholds.positive,
                                       negative_threshold=thresholds.negative)
    scored = analysis.sentiment
    return {
        "sentiment_polarity": scored.polarity,
        "sentiment_subjectivity": scored.subjectivity,
        "sentiment_label": scored.label,
        "sentiment_drivers": [{"phrase": d.phrase, "contribution": d.contribution} for d in scored.drivers],
        "sentiment_aspects": [{"aspect": m.aspect, "label": m.label, "polarity": m.polarity, "start": m.start,
                               "end": m.end} for m in analysis.aspects],
        "analyzer_version": ANALYZER_VERSION,
    }


def _comment_filter(wave_labels: Sequence[str], stale_only: bool) -> list:
    conditions = [Answer.text.is_not(None)]
    if wave_labels:
        conditions.append(Answer.wave_id.in_(select(Wave.id).where(Wave.label.in_(wave_labels))))
    if stale_only:
        conditions.append(
            (Answer.analyzer_version.is_(None)) | (Answer.analyzer_version != ANALYZER_VERSION)
        )
    return conditions


def count_comments(wave_labels: Sequence[str] = (), stale_only: bool = False) -> int:
    return db.session.scalar(select(func.count()).select_from(Answer).where(*_comment_filter(wave_labels, stale_only)))


def rescore_comments(thresholds: Thresholds, wave_labels: Sequence[str] = (), *, stale_only: bool = False,
                     chunk_size: int = 500) -> Iterator[int]:
    """Re-score stored comments chunk by chunk, committing each chunk; yields how many were done.

    Walks answers in id order with keyset pagination, so memory stays flat and an interrupted run
    can simply be started again. A manager's `label_override` and `aspects_override` are never touched.
    """
    last_id = 0
    conditions = _comment_filter(wave_labels, stale_only)
    while True:
        rows = db.session.execute(
            select(Answer.id, Answer.text, ServiceArea.code, Answer.wave_id, Answer.service_area_id,
                   Response.department, Answer.sentiment_label, Answer.label_override, Answer.sentiment_polarity,
                   Answer.sentiment_aspects, Answer.aspects_override, Answer.shareable, Question.kind)
            .outerjoin(ServiceArea, ServiceArea.id == Answer.service_area_id)
            .join(Response, Response.id == Answer.response_id)
            .join(Question, Question.id == Answer.question_id)
            .where(*conditions, Answer.id > last_id).order_by(Answer.id).limit(chunk_size)
        ).all()
        if not rows:
            return
        updates, tallies = [], Counter()
        for row in rows:
            columns = sentiment_columns(row.text, thresholds, row.code)
            updates.append({"id": row.id, **columns})
            if row.kind == "comment" and row.text:
                # The tallies follow the comment's new label, polarity and aspects (a manager's
                # corrections stay as they were).
                before = TalliedComment.of(
                    label=row.sentiment_label, label_override=row.label_override, polarity=row.sentiment_polarity,
                    aspects=row.sentiment_aspects, aspects_override=row.aspects_override, shareable=row.shareable)
                after = TalliedComment.of(
                    label=columns["sentiment_label"], label_override=row.label_override,
                    polarity=columns["sentiment_polarity"], aspects=columns["sentiment_aspects"],
                    aspects_override=row.aspects_override, shareable=row.shareable)
                if after != before:
                    tallies.update(comment_tally_keys(row.wave_id, row.service_area_id, row.department, before,
                                                      sign=-1))
                    tallies.update(comment_tally_keys(row.wave_id, row.service_area_id, row.department, after))
        db.session.execute(db.update(Answer), updates)
        add_to_tallies(tallies)
        db.session.commit()
        last_id = rows[-1].id
        yield len(rows)
