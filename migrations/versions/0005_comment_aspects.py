"""Comment aspects: each comment's service aspects with their own sentiment, and a manager's correction of them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 16:45:00

"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
