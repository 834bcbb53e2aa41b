"""The comment tallies (each area's comments by label, their polarity and the aspects they mention, per
wave) follow every write that changes what a comment counts for, so the sentiment mix and the "what people
talk about" figures read a few rows yet match the comments: a manager's label or aspect correction,
sharing and unsharing, re-scoring. Attacked by rebuilding the tallies from the answers after each kind of
write and comparing, and by counting the sentiment mix from the answers themselves."""
from __future__ import annotations

from unittest import mock

from sqlalchemy import select, update

from app.extensions import db
from app.models import Answer, ScoreTally
from app.services.comment_scores import Thresholds, rescore_comments
from app.services.comments import correct_aspects, correct_label, set_shareable
from app.services.reporting import aspects as aspect_reports
from app.services.reporting.breakdowns import sentiment_mix
from app.services.reporting.scope import resolve_scope
from app.services.tallies import rebuild_wave_tallies
from tests.factories import make_user
from tests.reporting_seed import AreaAnswers, add_wave, make_reporting_campaign

SLOW = "Waited three days for a response to a priority ticket."
OUTAGE = "The VPN keeps dropping since the network change, terrible."
FINE = "Quick, friendly and they fixed it first time."


def _comment_tallies(wave_id: int) -> dict[tuple, int]:
    rows = db.session.execute(select(ScoreTally.question_code, ScoreTally.area_key, ScoreTally.department,
                                     ScoreTally.score, ScoreTally.answer_count)
                              .where(ScoreTally.wave_id == wave_id, ScoreTally.question_code.startswith("@"),
                                     ScoreTally.question_code != "@version"))
    return {(code, area, department, score): n for code, area, department, score, n in rows if n}


def _rebuilt(wave_id: int) -> dict[tuple, int]:
    rebuild_wave_tallies(wave_id)
    db.session.commit()
    return _comment_tallies(wave_id)


def _seed(survey):
    campaign, (area,) = make_reporting_campaign(survey, area_count=1)
    wave = add_wave(campaign, survey, "2026-Q1", {area: AreaAnswers([3] * 12, comments=[SLOW] * 4 + [OUTAGE] * 4
                                                                    + [FINE] * 4)})
    return campaign, area, wave


def _ids(text: str) -> list[int]:
    return list(db.session.scalars(select(Answer.id).where(Answer.text == text).order_by(Answer.id)))


def test_corrections_and_sharing_move_the_tallies_as_a_rebuild_from_the_answers_would(db, survey):
    _, _, wave = _seed(survey)
    manager = make_user(role="manager")
    slow = _ids(SLOW)
    correct_aspects(slow[0], {"availability": "negative"}, manager)
    correct_aspects(slow[1], {}, manager)  # "it mentions nothing"
    correct_aspects(slow[1], None, manager)  # and back to the analyzer's reading
    set_shareable(slow[2], True)
    set_shareable(_ids(OUTAGE)[0], True)
    correct_aspects(_ids(OUTAGE)[0], {"communication": "positive"}, manager)  # a shared comment corrected
    set_shareable(slow[2], False)
    correct_label(slow[3], "positive", manager)
    correct_label(_ids(FINE)[0], "negative", manager)
    correct_label(_ids(FINE)[0], None, manager)  # and back to the analyzer's label
    incremental = _comment_tallies(wave.id)
    area = _area_of(slow[0])
    by_label = {score: incremental.get(("@comments", area, "Finance", score), 0) for score in (-1, 0, 1)}
    assert sum(by_label.values()) == 12 and by_label[1] == 4 + 1  # the praise, and the corrected complaint
    assert incremental == _rebuilt(wave.id)


def _area_of(answer_id: int) -> int:
    return db.session.get(Answer, answer_id).service_area_id


def test_rescoring_moves_the_tallies_of_uncorrected_comments_only(db, survey):
    _, _, wave = _seed(survey)
    manager = make_user(role="manager")
    correct_aspects(_ids(FINE)[0], {"cost": "neutral"}, manager)
    # As if stored by an older analyzer that found nothing: re-scoring must count what the new one finds.
    db.session.execute(update(Answer).where(Answer.text.is_not(None)).values(sentiment_aspects=[],
                                                                            analyzer_version="old"))
    rebuild_wave_tallies(wave.id)
    db.session.commit()
    assert not any(code.startswith("@aspect:") and code != "@aspect:cost" for code, *_ in _comment_tallies(wave.id))
    list(rescore_comments(Thresholds(), stale_only=True))
    incremental = _comment_tallies(wave.id)
    assert any(code == "@aspect:responsiveness" for code, *_ in incremental)
    assert incremental[("@aspect:cost", _area_of(_ids(FINE)[0]), "Finance", 0)] == 1  # the correction held
    assert incremental == _rebuilt(wave.id)


def test_aspect_shares_count_every_comment_of_the_wave_not_only_the_newest_read_for_examples(db, survey):
    campaign, area, wave = _seed(survey)
    scope = resolve_scope(campaign_id=campaign.id)
    with mock.patch.object(aspect_reports, "EXAMPLE_POOL", 3):
        summary = aspect_reports.area_aspects(scope, area.id, emerging=False)
    assert summary.comments == 12
    shares = {row.aspect: round(row.share, 3) for row in summary.rows}
    assert shares.get("responsiveness", 0) >= round(4 / 12, 3)


def _mix_from_answers(wave_id: int, area_id: int) -> tuple[int, int, int, int, float]:
    """(comments, positive, neutral, negative, mean polarity) counted from the stored comments themselves."""
    rows = db.session.execute(select(Answer.label_override, Answer.sentiment_label, Answer.sentiment_polarity)
                              .where(Answer.wave_id == wave_id, Answer.service_area_id == area_id,
                                     Answer.text.is_not(None))).all()
    labels = [override or label for override, label, _ in rows]
    return (len(rows), labels.count("positive"), labels.count("neutral"), labels.count("negative"),
            sum(polarity for *_, polarity in rows) / len(rows))


def test_the_sentiment_mix_read_from_the_tallies_is_the_one_counted_from_the_comments(db, survey):
    campaign, area, wave = _seed(survey)
    manager = make_user(role="manager")
    # Polarities on a half-hundredth, where rounding rules differ, and a manager's corrections.
    db.session.execute(update(Answer).where(Answer.id.in_(_ids(OUTAGE)[:2])).values(sentiment_polarity=-0.125))
    db.session.execute(update(Answer).where(Answer.id == _ids(FINE)[0]).values(sentiment_polarity=0.375))
    rebuild_wave_tallies(wave.id)
    db.session.commit()
    correct_label(_ids(SLOW)[0], "neutral", manager)
    correct_label(_ids(FINE)[1], "negative", manager)
    mix = sentiment_mix(resolve_scope(campaign_id=campaign.id), [wave.id], area.id)[(wave.id, area.id)]
    comments, positive, neutral, negative, polarity = _mix_from_answers(wave.id, area.id)
    assert (mix.comments, mix.positive, mix.neutral, mix.negative) == (comments, positive, neutral, negative)
    assert (mix.negative, mix.neutral, mix.positive) == (4 + 4 - 1 + 1, 1, 4 - 1)  # the corrections show
    assert abs(mix.mean_polarity - polarity) <= 0.005  # each comment's polarity to the hundredth
