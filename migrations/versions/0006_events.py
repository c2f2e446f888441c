"""event outbox and reminders

event_outbox holds each event owed to each webhook receiver, written in the transaction of the audit
record it reports; reminder holds each reminder e-mail owed; report_user.email keeps the address an IAM
tag gave (REMINDER_EMAIL=tag:...).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 19:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'event_outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.String(length=32), nullable=False),
        sa.Column('target', sa.String(length=16), nullable=False),
        sa.Column('type', sa.String(length=64), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.String(length=64), nullable=True),
        sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('failed_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('event_id', 'target', name='uq_event_outbox_event_target'),
    )
    op.create_index('ix_event_outbox_due', 'event_outbox', ['delivered_at', 'failed_at', 'next_attempt_at'])
    op.create_table(
        'reminder',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('batch', sa.String(length=32), nullable=False),
        sa.Column('user_name', sa.String(length=128), nullable=False),
        sa.Column('finding', sa.String(length=64), nullable=False),
        sa.Column('address', sa.String(length=320), nullable=False),
        sa.Column('deadline', sa.String(length=10), nullable=True),
        sa.Column('requested_by', sa.String(length=2048), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_reminder_batch', 'reminder', ['batch'])
    op.create_index('ix_reminder_user_finding', 'reminder', ['user_name', 'finding', 'sent_at'])
    op.create_index('ix_reminder_pending', 'reminder', ['status', 'claimed_until'])
    with op.batch_alter_table('report_user') as batch:
        batch.add_column(sa.Column('email', sa.String(length=320), nullable=True))


def downgrade():
    with op.batch_alter_table('report_user') as batch:
        batch.drop_column('email')
    op.drop_table('reminder')
    op.drop_index('ix_event_outbox_due', table_name='event_outbox')
    op.drop_table('event_outbox')
