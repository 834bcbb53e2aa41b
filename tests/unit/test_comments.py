"""Comment list and the manager's writes on comments: small groups stay hidden, corrections and sharing show."""
from __future__ import annotations

from app.models import Answer
from app.services.comments import CommentFilter, correct_label, list_comments, set_shareable
from app.services.reporting.reports import overview
from app.services.reporting.scope import resolve_scope
from tests.factories import make_user
from tests.reporting_seed import NEGATIVE, story


def _scope(seeded):
    return resolve_scope(campaign_id=seeded.campaign.id)


def test_comment_list_hides_small_groups_and_filters(db, survey):
    seeded = story(survey)
    scope = _scope(seeded)
    everything = list_comments(scope, CommentFilter())
    # 6 + 7 + 6 comments in area 0, 5 + 5 in area 1's reportable waves; the 4 in the small wave are hidden.
    assert everything.total == 29 and everything.hidden_groups == 1
    assert NEGATIVE not in {c.text for c in list_comments(
        scope, CommentFilter(area_id=seeded.areas[1].id)).items}
    negative = list_comments(scope, CommentFilter(label="negative"))
    assert negative.total == 8 and {c.label for c in negative.items} == {"negative"}
    found = list_comments(scope, CommentFilter(search="FIRST time"))
    assert found.total == 21 and all("first time" in c.text for c in found.items)
    assert list_comments(scope, CommentFilter(search="100%_")).total == 0
    assert found.items[0].drivers and found.items[0].drivers[0][0] == "excellent"


def test_label_correction_is_stored_beside_the_computed_label(db, survey):
    seeded = story(survey)
    manager = make_user(role="manager")
    scope = _scope(seeded)
    item = list_comments(scope, CommentFilter(area_id=seeded.areas[0].id, label="positive")).items[0]
    before = overview(scope).rows[0].sentiment
    correct_label(item.id, "negative", manager)
    answer = db.session.get(Answer, item.id)
    assert (answer.label_override, answer.sentiment_label, answer.label_override_by_id) == ("negative", "positive",
                                                                                           manager.id)
    assert answer.label_override_at is not None
    shown = next(c for c in list_comments(scope, CommentFilter()).items if c.id == item.id)
    assert shown.corrected and shown.label == "negative" and shown.computed_label == "positive"
    after = overview(scope).rows[0].sentiment
    assert (after.positive, after.negative) == (before.positive - 1, before.negative + 1)
    correct_label(item.id, None, manager)
    assert db.session.get(Answer, item.id).label_override is None


def test_shareable_flag_limits_what_providers_see(db, survey):
    seeded = story(survey)
    scope = _scope(seeded)
    assert list_comments(scope, CommentFilter(shareable_only=True)).total == 0
    item = list_comments(scope, CommentFilter()).items[0]
    set_shareable(item.id, True)
    shared = list_comments(scope, CommentFilter(shareable_only=True))
    assert [c.id for c in shared.items] == [item.id]
