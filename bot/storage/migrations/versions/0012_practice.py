"""practice mode: each rep's schedule per drill, every answer, drills from the team's floor, the daily reminder

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 16:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('practice_cards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('drill_id', sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
    sa.Column('card', sa.JSON(), nullable=False),
    sa.Column('due', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('reps', sa.Integer(), nullable=False),
    sa.Column('lapses', sa.Integer(), nullable=False),
    sa.Column('last_rating', sa.Integer(), nullable=True),
    sa.Column('last_review_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.telegram_id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'drill_id', name='uq_practice_cards_user_drill')
    )
    with op.batch_alter_table('practice_cards', schema=None) as batch_op:
        batch_op.create_index('ix_practice_cards_user_due', ['user_id', 'due'], unique=False)

    op.create_table('practice_reminders',
    sa.Column('user_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.telegram_id'], ),
    sa.PrimaryKeyConstraint('user_id')
    )
    op.create_table('practice_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('drill_id', sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
    sa.Column('topic', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('covers', sa.JSON(), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=False),
    sa.Column('correct', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('answer_text', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('answered_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.telegram_id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('practice_reviews', schema=None) as batch_op:
        batch_op.create_index('ix_practice_reviews_team_answered', ['team_id', 'answered_at', 'user_id'], unique=False)
        batch_op.create_index('ix_practice_reviews_user_answered', ['user_id', 'answered_at'], unique=False)

    op.create_table('team_drills',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('outcome_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=True),
    sa.Column('method', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('words', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('signals', sa.JSON(), nullable=False),
    sa.Column('proposed_by', sa.BigInteger(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('decided_by', sa.BigInteger(), nullable=True),
    sa.Column('decided_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['outcome_id'], ['outcomes.id'], ),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('outcome_id')
    )
    with op.batch_alter_table('team_drills', schema=None) as batch_op:
        batch_op.create_index('ix_team_drills_team_status', ['team_id', 'status', 'created_at'], unique=False)



def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('team_drills', schema=None) as batch_op:
        batch_op.drop_index('ix_team_drills_team_status')

    op.drop_table('team_drills')
    with op.batch_alter_table('practice_reviews', schema=None) as batch_op:
        batch_op.drop_index('ix_practice_reviews_user_answered')
        batch_op.drop_index('ix_practice_reviews_team_answered')

    op.drop_table('practice_reviews')
    op.drop_table('practice_reminders')
    with op.batch_alter_table('practice_cards', schema=None) as batch_op:
        batch_op.drop_index('ix_practice_cards_user_due')

    op.drop_table('practice_cards')
