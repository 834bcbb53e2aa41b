"""Drop ix_answer_response_id: the unique (response_id, question_id, service_area_id) index starts with
the same column and serves every lookup by response, so the second index only cost writes (about a
tenth of the database work of storing a submission, measured with benchmarks/submit.py's seed).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 19:20:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index(op.f('ix_answer_response_id'), table_name='answer')


def downgrade():
    op.create_index(op.f('ix_answer_response_id'), 'answer', ['response_id'], unique=False)
