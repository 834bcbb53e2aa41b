"""Count comments by their label in the tallies, and their polarity: `@comments` and `@comments-shared`
now carry the label as shown (a manager's correction wins) as the score (-1, 0, +1) instead of 0, and
`@polarity` counts each comment's polarity in hundredths. Dashboards then read the sentiment mix of an
open wave from a few rows instead of every comment after each response (the live overview at 1M
responses). Grouped in SQL by the distinct polarities, rounded here as the app rounds them.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 22:10:00

"""
import math
from collections import Counter

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

answer = sa.table("answer", sa.column("wave_id", sa.Integer), sa.column("response_id", sa.Uuid),
                  sa.column("question_id", sa.Integer), sa.column("service_area_id", sa.Integer),
                  sa.column("text", sa.Text), sa.column("sentiment_label", sa.String),
                  sa.column("label_override", sa.String), sa.column("sentiment_polarity", sa.Float),
                  sa.column("shareable", sa.Boolean))
question = sa.table("question", sa.column("id", sa.Integer), sa.column("kind", sa.String))
response = sa.table("response", sa.column("id", sa.Uuid), sa.column("department", sa.String))
score_tally = sa.table("score_tally", sa.column("wave_id", sa.Integer), sa.column("question_code", sa.String),
                       sa.column("area_key", sa.Integer), sa.column("department", sa.String),
                       sa.column("score", sa.Integer), sa.column("answer_count", sa.Integer))
COMMENT_CODES = ("@comments", "@comments-shared", "@polarity")
LABEL_SCORES = {"negative": -1, "neutral": 0, "positive": 1}


def upgrade():
    connection = op.get_bind()
    area_key = sa.func.coalesce(answer.c.service_area_id, sa.literal(0))
    department = sa.func.coalesce(response.c.department, sa.literal(""))
    label = sa.func.coalesce(answer.c.label_override, answer.c.sentiment_label)
    shareable = sa.func.coalesce(answer.c.shareable, sa.false())
    groups = connection.execute(
        sa.select(answer.c.wave_id, area_key, department, label, shareable, answer.c.sentiment_polarity,
                  sa.func.count())
        .join(question, question.c.id == answer.c.question_id)
        .join(response, response.c.id == answer.c.response_id)
        .where(question.c.kind == "comment", answer.c.text.is_not(None), answer.c.text != "")
        .group_by(answer.c.wave_id, area_key, department, label, shareable, answer.c.sentiment_polarity))
    counts = Counter()
    for wave_id, area, dept, shown, shared, polarity, n in groups:
        score = LABEL_SCORES.get(shown or "neutral", 0)
        counts[(wave_id, "@comments", area, dept, score)] += n
        if shared:
            counts[(wave_id, "@comments-shared", area, dept, score)] += n
        if polarity is not None:
            counts[(wave_id, "@polarity", area, dept, math.floor(polarity * 100 + 0.5))] += n
    connection.execute(sa.delete(score_tally).where(score_tally.c.question_code.in_(COMMENT_CODES)))
    values = [{"wave_id": w, "question_code": q, "area_key": a, "department": d, "score": s, "answer_count": n}
              for (w, q, a, d, s), n in sorted(counts.items())]
    for start in range(0, len(values), 5000):
        connection.execute(sa.insert(score_tally), values[start:start + 5000])


def downgrade():
    # Back to one row per area and department, the labels summed, and no polarity.
    connection = op.get_bind()
    totals = connection.execute(
        sa.select(score_tally.c.wave_id, score_tally.c.question_code, score_tally.c.area_key,
                  score_tally.c.department, sa.func.sum(score_tally.c.answer_count))
        .where(score_tally.c.question_code.in_(("@comments", "@comments-shared")))
        .group_by(score_tally.c.wave_id, score_tally.c.question_code, score_tally.c.area_key,
                  score_tally.c.department)).all()
    connection.execute(sa.delete(score_tally).where(score_tally.c.question_code.in_(COMMENT_CODES)))
    values = [{"wave_id": w, "question_code": q, "area_key": a, "department": d, "score": 0, "answer_count": int(n)}
              for w, q, a, d, n in totals if n]
    for start in range(0, len(values), 5000):
        connection.execute(sa.insert(score_tally), values[start:start + 5000])
