"""Review-pack jobs: PDF packs prepared in the background by the dispatcher's worker.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 16:45:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'review_pack_job',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('scope_key', sa.String(length=64), nullable=False),
        sa.Column('data_version', sa.String(length=64), nullable=False),
        sa.Column('provider_id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('first_wave_id', sa.Integer(), nullable=True),
        sa.Column('last_wave_id', sa.Integer(), nullable=True),
        sa.Column('prepared_by', sa.String(length=255), nullable=False),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('available_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('claimed_by', sa.String(length=120), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('size', sa.Integer(), nullable=True),
        sa.Column('pdf', sa.LargeBinary(), nullable=True),
        sa.CheckConstraint("state IN ('queued', 'running', 'ready', 'failed')",
                           name=op.f('ck_review_pack_job_state_known')),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'],
                                name=op.f('fk_review_pack_job_campaign_id_campaign'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['first_wave_id'], ['wave.id'],
                                name=op.f('fk_review_pack_job_first_wave_id_wave'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['last_wave_id'], ['wave.id'],
                                name=op.f('fk_review_pack_job_last_wave_id_wave'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['provider_id'], ['provider.id'],
                                name=op.f('fk_review_pack_job_provider_id_provider'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_review_pack_job')),
        sa.UniqueConstraint('scope_key', 'data_version', name=op.f('uq_review_pack_job_scope_key_data_version')),
    )
    op.create_index('ix_review_pack_job_state_available_at', 'review_pack_job', ['state', 'available_at'],
                    unique=False)


def downgrade():
    op.drop_index('ix_review_pack_job_state_available_at', table_name='review_pack_job')
    op.drop_table('review_pack_job')
