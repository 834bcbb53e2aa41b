"""Tally hours lost and the key drivers' score pairs like the scores, so dashboards read a few rows instead
of every answer: `@hours:<question>` counts each number of hours (in hundredths, the precision answers
keep), `@joint:<sub-rating>` each pair (100 x sub-rating score + the same area's satisfaction score) of
one response's answers. `score_tally.score` becomes an integer wide enough for hundredths of 1,000 hours.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 20:30:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

answer = sa.table("answer", sa.column("wave_id", sa.Integer), sa.column("response_id", sa.Uuid),
                  sa.column("question_id", sa.Integer), sa.column("service_area_id", sa.Integer),
                  sa.column("score", sa.SmallInteger), sa.column("hours", sa.Float))
question = sa.table("question", sa.column("id", sa.Integer), sa.column("code", sa.String),
                    sa.column("kind", sa.String), sa.column("scope", sa.String), sa.column("options", sa.JSON))
response = sa.table("response", sa.column("id", sa.Uuid), sa.column("department", sa.String))
score_tally = sa.table("score_tally", sa.column("wave_id", sa.Integer), sa.column("question_code", sa.String),
                       sa.column("area_key", sa.Integer), sa.column("department", sa.String),
                       sa.column("score", sa.Integer), sa.column("answer_count", sa.Integer))
COLUMNS = ["wave_id", "question_code", "area_key", "department", "score", "answer_count"]


def upgrade():
    with op.batch_alter_table("score_tally") as batch:
        batch.alter_column("score", existing_type=sa.SmallInteger(), type_=sa.Integer(), existing_nullable=False)
    department = sa.func.coalesce(response.c.department, sa.literal(""))
    area_key = sa.func.coalesce(answer.c.service_area_id, sa.literal(0))
    hundredths = sa.cast(sa.func.round(answer.c.hours * 100), sa.Integer)
    hours_code = sa.literal("@hours:") + question.c.code
    op.execute(score_tally.insert().from_select(COLUMNS, (
        sa.select(answer.c.wave_id, hours_code, area_key, department, hundredths, sa.func.count())
        .join(question, question.c.id == answer.c.question_id)
        .join(response, response.c.id == answer.c.response_id)
        .where(answer.c.hours.is_not(None))
        .group_by(answer.c.wave_id, hours_code, area_key, department, hundredths))))
    sub, sat = answer.alias("sub"), answer.alias("sat")
    sub_question, sat_question = question.alias("sub_question"), question.alias("sat_question")
    pair = sub.c.score * 100 + sat.c.score
    joint_code = sa.literal("@joint:") + sub_question.c.code
    op.execute(score_tally.insert().from_select(COLUMNS, (
        sa.select(sub.c.wave_id, joint_code, sub.c.service_area_id, department, pair, sa.func.count())
        .select_from(sub)
        .join(sub_question, sub_question.c.id == sub.c.question_id)
        .join(sat, (sat.c.response_id == sub.c.response_id) & (sat.c.service_area_id == sub.c.service_area_id))
        .join(sat_question, sat_question.c.id == sat.c.question_id)
        .join(response, response.c.id == sub.c.response_id)
        .where(sub.c.score.is_not(None), sat.c.score.is_not(None), sub_question.c.kind == "rating",
               sub_question.c.scope == "area", sub.c.service_area_id.is_not(None),
               sub_question.c.options["metric"].as_string().is_(None),
               sat_question.c.options["metric"].as_string() == "satisfaction")
        .group_by(sub.c.wave_id, joint_code, sub.c.service_area_id, department, pair))))


def downgrade():
    op.execute(score_tally.delete().where(score_tally.c.question_code.like("@hours:%")
                                          | score_tally.c.question_code.like("@joint:%")))
    with op.batch_alter_table("score_tally") as batch:
        batch.alter_column("score", existing_type=sa.Integer(), type_=sa.SmallInteger(), existing_nullable=False)
