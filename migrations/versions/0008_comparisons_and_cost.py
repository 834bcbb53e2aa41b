"""Comparisons and the cost of lost time: a campaign's baseline wave, and what an hour of lost work costs.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 17:45:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    # baseline_wave_id has no foreign key on purpose: see the Campaign model.
    with op.batch_alter_table('campaign') as batch:
        batch.add_column(sa.Column('baseline_wave_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('hourly_cost', sa.Numeric(precision=10, scale=2), nullable=True))
        batch.add_column(sa.Column('currency', sa.String(length=12), nullable=True))
        batch.create_check_constraint(op.f('ck_campaign_hourly_cost_not_negative'),
                                      'hourly_cost IS NULL OR hourly_cost >= 0')


def downgrade():
    with op.batch_alter_table('campaign') as batch:
        batch.drop_constraint(op.f('ck_campaign_hourly_cost_not_negative'), type_='check')
        batch.drop_column('currency')
        batch.drop_column('hourly_cost')
        batch.drop_column('baseline_wave_id')
