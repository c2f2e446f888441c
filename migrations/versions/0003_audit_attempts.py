"""audit attempts and spool keys

Every AWS action is announced by an attempt row before the call and settled by an outcome row
naming it (attempt_key). event_key is unique per event, so records spooled on local disk while the
database was away land exactly once however often the spool is flushed.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 22:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_event') as batch:
        batch.add_column(sa.Column('event_key', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('attempt_key', sa.String(length=32), nullable=True))
        batch.create_unique_constraint('uq_audit_event_event_key', ['event_key'])
        batch.create_index('ix_audit_event_attempt_key', ['attempt_key'])


def downgrade():
    with op.batch_alter_table('audit_event') as batch:
        batch.drop_index('ix_audit_event_attempt_key')
        batch.drop_constraint('uq_audit_event_event_key', type_='unique')
        batch.drop_column('attempt_key')
        batch.drop_column('event_key')
