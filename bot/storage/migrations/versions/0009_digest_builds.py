"""daily digests built ahead, and the indexes that tell whether one is still fresh

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('digest_builds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('tz', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('chart', sa.LargeBinary(), nullable=False),
    sa.Column('fingerprint', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('built_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('valid_until', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('team_id', 'day', 'tz', 'language', name='uq_digest_builds_key')
    )
    with op.batch_alter_table('digest_builds', schema=None) as batch_op:
        batch_op.create_index('ix_digest_builds_day', ['day'], unique=False)

    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.create_index('ix_customers_team_updated', ['team_id', 'updated_at'], unique=False)

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('build_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_outbox_build', ['build_id'], unique=False, sqlite_where=sa.text('build_id IS NOT NULL'), postgresql_where=sa.text('build_id IS NOT NULL'))
        batch_op.create_foreign_key('fk_outbox_build_id_digest_builds', 'digest_builds', ['build_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('outcomes', schema=None) as batch_op:
        batch_op.create_index('ix_outcomes_team_created', ['team_id', 'created_at'], unique=False)

    with op.batch_alter_table('purchases', schema=None) as batch_op:
        batch_op.create_index('ix_purchases_team_created', ['team_id', 'created_at'], unique=False)

    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_index('ix_tasks_team_created', ['team_id', 'created_at'], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_team_created')

    with op.batch_alter_table('purchases', schema=None) as batch_op:
        batch_op.drop_index('ix_purchases_team_created')

    with op.batch_alter_table('outcomes', schema=None) as batch_op:
        batch_op.drop_index('ix_outcomes_team_created')

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_constraint('fk_outbox_build_id_digest_builds', type_='foreignkey')
        batch_op.drop_index('ix_outbox_build', sqlite_where=sa.text('build_id IS NOT NULL'), postgresql_where=sa.text('build_id IS NOT NULL'))
        batch_op.drop_column('build_id')

    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_index('ix_customers_team_updated')

    with op.batch_alter_table('digest_builds', schema=None) as batch_op:
        batch_op.drop_index('ix_digest_builds_day')

    op.drop_table('digest_builds')
