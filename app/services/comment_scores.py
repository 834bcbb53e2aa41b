"""Sentiment columns of comment answers: scoring one comment, and re-scoring stored ones in chunks."""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.models import Answer, Wave
from app.services import sentiment


@dataclass(frozen=True)
class Thresholds:
    positive: float = sentiment.DEFAULT_POSITIVE_THRESHOLD
    negative: float = sentiment.DEFAULT_NEGATIVE_THRESHOLD

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Thresholds:
        """The thresholds an app is configured with (SENTIMENT_POSITIVE/NEGATIVE_THRESHOLD)."""
        return cls(config["SENTIMENT_POSITIVE_THRESHOLD"], config["SENTIMENT_NEGATIVE_THRESHOLD"])


def sentiment_columns(text: str, thresholds: Thresholds) -> dict[str, Any]:
    """The Answer column values for one comment: score, label, drivers and the analyzer version."""
    scored = sentiment.analyze(text, positive_threshold=thresholds.positive, negative_threshold=thresholds.negative)
    return {
        "sentiment_polarity": scored.polarity,
        "sentiment_subjectivity": scored.subjectivity,
        "sentiment_label": scored.label,
        "sentiment_drivers": [{"phrase": d.phrase, "contribution": d.contribution} for d in scored.drivers],
        "analyzer_version": sentiment.ANALYZER_VERSION,
    }


def _comment_filter(wave_labels: Sequence[str], stale_only: bool) -> list:
    conditions = [Answer.text.is_not(None)]
    if wave_labels:
        conditions.append(Answer.wave_id.in_(select(Wave.id).where(Wave.label.in_(wave_labels))))
    if stale_only:
        conditions.append(
            (Answer.analyzer_version.is_(None)) | (Answer.analyzer_version != sentiment.ANALYZER_VERSION)
        )
    return conditions


def count_comments(wave_labels: Sequence[str] = (), stale_only: bool = False) -> int:
    return db.session.scalar(select(func.count()).select_from(Answer).where(*_comment_filter(wave_labels, stale_only)))


def rescore_comments(thresholds: Thresholds, wave_labels: Sequence[str] = (), *, stale_only: bool = False,
                     chunk_size: int = 500) -> Iterator[int]:
    """Re-score stored comments chunk by chunk, committing each chunk; yields how many were done.

    Walks answers in id order with keyset pagination, so memory stays flat and an interrupted run
    can simply be started again. A manager's `label_override` is never touched.
    """
    last_id = 0
    conditions = _comment_filter(wave_labels, stale_only)
    while True:
        rows = db.session.execute(
            select(Answer.id, Answer.text).where(*conditions, Answer.id > last_id).order_by(Answer.id).limit(chunk_size)
        ).all()
        if not rows:
            return
        updates = [{"id": answer_id, **sentiment_columns(text, thresholds)} for answer_id, text in rows]
        db.session.execute(db.update(Answer), updates)
        db.session.commit()
        last_id = rows[-1].id
        yield len(rows)
