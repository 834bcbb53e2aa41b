"""Who a campaign's emails come from: a sender name shown in From, and a Reply-To address.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 18:10:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('campaign') as batch:
        batch.add_column(sa.Column('sender_name', sa.String(length=120), nullable=True))
        batch.add_column(sa.Column('reply_to', sa.String(length=254), nullable=True))


def downgrade():
    with op.batch_alter_table('campaign') as batch:
        batch.drop_column('reply_to')
        batch.drop_column('sender_name')
