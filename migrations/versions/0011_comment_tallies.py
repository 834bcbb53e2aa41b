"""Count the comments already stored into the tallies: each area's comments (`@comments`) and the aspects
they mention with their sentiment as the score (`@aspect:<aspect>`), with `-shared` twins for those the
provider may read. From now on a submission, a manager's aspect correction, sharing and re-scoring keep
these rows right (`app.services.tallies`); this fills them for the comments stored before.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 20:10:00

"""
from collections import Counter

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

LABEL_SCORES = {"negative": -1, "neutral": 0, "positive": 1}
answer = sa.table("answer", sa.column("id", sa.Integer), sa.column("wave_id", sa.Integer),
                  sa.column("response_id", sa.Uuid), sa.column("question_id", sa.Integer),
                  sa.column("service_area_id", sa.Integer), sa.column("text", sa.Text),
                  sa.column("sentiment_aspects", sa.JSON), sa.column("aspects_override", sa.JSON),
                  sa.column("shareable", sa.Boolean))
question = sa.table("question", sa.column("id", sa.Integer), sa.column("kind", sa.String))
response = sa.table("response", sa.column("id", sa.Uuid), sa.column("department", sa.String))
score_tally = sa.table("score_tally", sa.column("wave_id", sa.Integer), sa.column("question_code", sa.String),
                       sa.column("area_key", sa.Integer), sa.column("department", sa.String),
                       sa.column("score", sa.SmallInteger), sa.column("answer_count", sa.Integer))


def upgrade():
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(answer.c.wave_id, answer.c.service_area_id, response.c.department, answer.c.sentiment_aspects,
                  answer.c.aspects_override, answer.c.shareable)
        .join(question, question.c.id == answer.c.question_id)
        .join(response, response.c.id == answer.c.response_id)
        .where(question.c.kind == "comment", answer.c.text.is_not(None), answer.c.text != "")
        .execution_options(yield_per=5000))
    counts = Counter()
    for wave_id, area_id, department, computed, override, shareable in rows:
        area, department = area_id or 0, department or ""
        codes = ["@comments"] + (["@comments-shared"] if shareable else [])
        for code in codes:
            counts[(wave_id, code, area, department, 0)] += 1
        for mention in (override if override is not None else computed or []):
            if mention.get("aspect"):
                score = LABEL_SCORES.get(mention.get("label"), 0)
                counts[(wave_id, "@aspect:" + mention["aspect"], area, department, score)] += 1
                if shareable:
                    counts[(wave_id, "@aspect-shared:" + mention["aspect"], area, department, score)] += 1
    connection.execute(sa.delete(score_tally).where(score_tally.c.question_code.like("@%")))
    values = [{"wave_id": w, "question_code": q, "area_key": a, "department": d, "score": s, "answer_count": n}
              for (w, q, a, d, s), n in sorted(counts.items())]
    for start in range(0, len(values), 5000):
        connection.execute(sa.insert(score_tally), values[start:start + 5000])


def downgrade():
    op.execute(score_tally.delete().where(score_tally.c.question_code.like("@%")))
