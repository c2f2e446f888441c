"""audit request ids

Each audit row names the request that wrote it (the X-Request-ID of the response and of every log
line of that request), so an auditor can go from a row to the log lines around it. Nullable: rows
written before this, and by the command line, have none.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 18:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_event') as batch:
        batch.add_column(sa.Column('request_id', sa.String(length=64), nullable=True))
        batch.create_index('ix_audit_event_request_id', ['request_id'])


def downgrade():
    with op.batch_alter_table('audit_event') as batch:
        batch.drop_index('ix_audit_event_request_id')
        batch.drop_column('request_id')
