"""Review-pack jobs: PDF packs prepared in the background by the dispatcher's worker.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 16:45:00

"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
