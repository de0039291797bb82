"""the care planner plans what changed: marks written by triggers, and each team's last pass

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from bot.storage import plan_marks

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('plan_marks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('scope', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('plan_passes',
    sa.Column('team_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('full_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('zones', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('team_id')
    )
    # No row in plan_passes: every team's next pass is a full one, as before this revision.
    plan_marks.install(op.get_bind())


def downgrade() -> None:
    """Revert this revision."""
    plan_marks.uninstall(op.get_bind())
    op.drop_table('plan_passes')
    op.drop_table('plan_marks')
