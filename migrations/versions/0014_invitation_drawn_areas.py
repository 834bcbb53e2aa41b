"""Each invitation carries the areas of its draw (`drawn_areas`, "3,5,8"), a copy of its
`invitation_area` rows, and the counting index holds it after the wave: a wave's delivered invitations
per area are then counted from the index alone, grouped in its order (about 25 ms for the open wave's
212,000 invitations at 1M responses on SQLite, instead of 0.33 s joining 424,000 draws). Filled here from
the draws recorded before.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 22:40:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

COUNTED = ["wave_id", "responded_at", "sent_at", "state", "bounced_at"]


def upgrade():
    with op.batch_alter_table("invitation") as batch:
        batch.add_column(sa.Column("drawn_areas", sa.Text(), nullable=True))
    connection = op.get_bind()
    draws = sa.table("invitation_area", sa.column("invitation_id", sa.Integer),
                     sa.column("service_area_id", sa.Integer))
    invitation = sa.table("invitation", sa.column("id", sa.Integer), sa.column("drawn_areas", sa.String))
    if connection.dialect.name == "postgresql":
        joined = sa.func.string_agg(sa.cast(draws.c.service_area_id, sa.String), sa.literal(","))
    else:
        joined = sa.func.group_concat(draws.c.service_area_id, ",")
    connection.execute(invitation.update().values(drawn_areas=(
        sa.select(joined).where(draws.c.invitation_id == invitation.c.id).scalar_subquery())))
    op.drop_index("ix_invitation_wave_counts", table_name="invitation")
    op.create_index("ix_invitation_wave_counts", "invitation", COUNTED[:1] + ["drawn_areas"] + COUNTED[1:],
                    unique=False)


def downgrade():
    op.drop_index("ix_invitation_wave_counts", table_name="invitation")
    op.create_index("ix_invitation_wave_counts", "invitation", COUNTED, unique=False)
    with op.batch_alter_table("invitation") as batch:
        batch.drop_column("drawn_areas")
