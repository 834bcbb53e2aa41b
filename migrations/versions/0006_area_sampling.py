"""Area sampling: how many areas a campaign asks each person about, and which areas each invitation asks.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 16:45:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('campaign') as batch:
        batch.add_column(sa.Column('areas_per_person', sa.Integer(), nullable=True))
        batch.create_check_constraint(op.f('ck_campaign_areas_per_person_positive'),
                                      'areas_per_person IS NULL OR areas_per_person >= 1')
    # Invitations created before this revision keep no rows here: they ask about every area their
    # person uses, as they always did.
    op.create_table(
        'invitation_area',
        sa.Column('invitation_id', sa.Integer(), nullable=False),
        sa.Column('service_area_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['invitation_id'], ['invitation.id'],
                                name=op.f('fk_invitation_area_invitation_id_invitation'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['service_area_id'], ['service_area.id'],
                                name=op.f('fk_invitation_area_service_area_id_service_area'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('invitation_id', 'service_area_id', name=op.f('pk_invitation_area')),
    )
    op.create_index(op.f('ix_invitation_area_service_area_id'), 'invitation_area', ['service_area_id'],
                    unique=False)


def downgrade():
    op.drop_index(op.f('ix_invitation_area_service_area_id'), table_name='invitation_area')
    op.drop_table('invitation_area')
    with op.batch_alter_table('campaign') as batch:
        batch.drop_constraint(op.f('ck_campaign_areas_per_person_positive'), type_='check')
        batch.drop_column('areas_per_person')
