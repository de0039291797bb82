"""a reminder knows the complaint it is about

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outcome_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_tasks_outcome_id'), ['outcome_id'], unique=False)
        batch_op.create_foreign_key('fk_tasks_outcome_id_outcomes', 'outcomes', ['outcome_id'], ['id'])
    # Reminders the complaint playbook set before this revision: written in the same
    # transaction as their complaint, so same customer, rep, due date and moment.
    op.execute(
        """
        UPDATE tasks SET outcome_id = (
            SELECT MAX(outcomes.id) FROM outcomes
            WHERE outcomes.kind = 'complaint'
              AND outcomes.customer_id = tasks.customer_id
              AND outcomes.user_id = tasks.owner_id
              AND outcomes.due_on = tasks.due_on
              AND outcomes.created_at = tasks.created_at
        )
        WHERE tasks.source = 'playbook' AND tasks.customer_id IS NOT NULL
        """
    )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_constraint('fk_tasks_outcome_id_outcomes', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_tasks_outcome_id'))
        batch_op.drop_column('outcome_id')
