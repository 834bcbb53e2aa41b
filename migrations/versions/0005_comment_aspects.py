"""Comment aspects: each comment's service aspects with their own sentiment, and a manager's correction of them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 16:45:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sentiment_aspects', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('aspects_override', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('aspects_override_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('aspects_override_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_answer_aspects_override_by_id_user'), 'user',
                                    ['aspects_override_by_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_answer_aspects_override_by_id_user'), type_='foreignkey')
        batch_op.drop_column('aspects_override_at')
        batch_op.drop_column('aspects_override_by_id')
        batch_op.drop_column('aspects_override')
        batch_op.drop_column('sentiment_aspects')
