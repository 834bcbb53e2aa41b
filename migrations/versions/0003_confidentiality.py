"""Confidentiality: anonymous submissions wait in a sealed pool, drafts are sealed with the link's key,
and each user carries a session version that ends every session when raised.

Drafts saved before this revision were plain JSON readable by anyone with the database; they cannot
be sealed without the link's token, which the server never had, so the upgrade deletes them (people
with a draft find an empty form) and the downgrade cannot restore them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 12:50:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'response_pool',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('wave_id', sa.Integer(), nullable=False),
        sa.Column('sealed', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['wave_id'], ['wave.id'], name=op.f('fk_response_pool_wave_id_wave'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_response_pool')),
    )
    op.create_index(op.f('ix_response_pool_wave_id'), 'response_pool', ['wave_id'], unique=False)

    op.execute('DELETE FROM response_draft')
    with op.batch_alter_table('response_draft') as batch:
        batch.drop_column('data')
        batch.add_column(sa.Column('sealed', sa.LargeBinary(), nullable=False))

    with op.batch_alter_table('user') as batch:
        batch.add_column(sa.Column('session_version', sa.Integer(), server_default='1', nullable=False))


def downgrade():
    with op.batch_alter_table('user') as batch:
        batch.drop_column('session_version')

    op.execute('DELETE FROM response_draft')
    with op.batch_alter_table('response_draft') as batch:
        batch.drop_column('sealed')
        batch.add_column(sa.Column('data', sa.JSON(), nullable=False))

    op.drop_index(op.f('ix_response_pool_wave_id'), table_name='response_pool')
    op.drop_table('response_pool')
