"""Mail relay: messages sent (for send-rate limits shared by every dispatcher), the dispatcher's shared
state (a pause the server asked for, the last pass), bounces read back on invitations, and stakeholders
marked undeliverable after a hard bounce.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 14:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'mail_send',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_send')),
    )
    op.create_index(op.f('ix_mail_send_sent_at'), 'mail_send', ['sent_at'], unique=False)
    op.create_table(
        'dispatcher_state',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('paused_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('pause_reason', sa.Text(), nullable=True),
        sa.Column('last_pass_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_pass_by', sa.String(length=120), nullable=True),
        sa.Column('last_pass_summary', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_dispatcher_state')),
    )
    with op.batch_alter_table('invitation') as batch:
        batch.add_column(sa.Column('bounced_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('bounce_kind', sa.String(length=10), nullable=True))
        batch.add_column(sa.Column('bounce_reason', sa.Text(), nullable=True))
    with op.batch_alter_table('stakeholder') as batch:
        batch.add_column(sa.Column('undeliverable_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('undeliverable_reason', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('stakeholder') as batch:
        batch.drop_column('undeliverable_reason')
        batch.drop_column('undeliverable_at')
    with op.batch_alter_table('invitation') as batch:
        batch.drop_column('bounce_reason')
        batch.drop_column('bounce_kind')
        batch.drop_column('bounced_at')
    op.drop_table('dispatcher_state')
    op.drop_index(op.f('ix_mail_send_sent_at'), table_name='mail_send')
    op.drop_table('mail_send')
