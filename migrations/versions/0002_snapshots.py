"""admin report snapshots

One row in report_snapshot per admin refresh (totals, chart data, what it cost), and one row in
report_user per IAM user in it. The composite indexes lead with snapshot_id because every dashboard
query reads a single snapshot, then filters by status, abandoned device or coverage and orders by name.
Old snapshots are deleted by the application (rows first), so the cascade is only a safety net.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 22:04:16.432887

"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'report_snapshot',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('taken_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('taken_by', sa.String(length=2048), nullable=True),
        sa.Column('calls', sa.Integer(), nullable=False),
        sa.Column('seconds', sa.Double(), nullable=False),
        sa.Column('report_generated_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('policy_arn', sa.String(length=2048), nullable=True),
        sa.Column('policy_found', sa.Boolean(), nullable=False),
        sa.Column('users', sa.Integer(), nullable=False),
        sa.Column('enrolled', sa.Integer(), nullable=False),
        sa.Column('other_mfa', sa.Integer(), nullable=False),
        sa.Column('abandoned', sa.Integer(), nullable=False),
        sa.Column('not_covered', sa.Integer(), nullable=False),
        sa.Column('orphan_devices', sa.Integer(), nullable=False),
        sa.Column('chart', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('report_snapshot', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_snapshot_taken_at'), ['taken_at'], unique=False)

    op.create_table(
        'report_user',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('snapshot_id', sa.Integer(), nullable=False),
        sa.Column('user_name', sa.String(length=128), nullable=False),
        sa.Column('arn', sa.String(length=2048), nullable=False),
        sa.Column('created', sa.DateTime(timezone=True), nullable=True),
        sa.Column('mfa_status', sa.String(length=16), nullable=False),
        sa.Column('device_names', sa.String(length=1024), nullable=True),
        sa.Column('enabled_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('password_enabled', sa.Boolean(), nullable=True),
        sa.Column('key_last_used', sa.DateTime(timezone=True), nullable=True),
        sa.Column('covered_by', sa.String(length=160), nullable=False),
        sa.Column('abandoned', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['snapshot_id'], ['report_snapshot.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        # Also the index for "all rows of a snapshot, by name" (the default dashboard order).
        sa.UniqueConstraint('snapshot_id', 'user_name', name='uq_report_user_snapshot_name'),
    )
    with op.batch_alter_table('report_user', schema=None) as batch_op:
        batch_op.create_index('ix_report_user_status', ['snapshot_id', 'mfa_status', 'user_name'], unique=False)
        batch_op.create_index('ix_report_user_abandoned', ['snapshot_id', 'abandoned', 'user_name'], unique=False)
        batch_op.create_index('ix_report_user_covered', ['snapshot_id', 'covered_by', 'user_name'], unique=False)
        batch_op.create_index('ix_report_user_enabled', ['snapshot_id', 'enabled_at'], unique=False)
        batch_op.create_index('ix_report_user_key_used', ['snapshot_id', 'key_last_used'], unique=False)


def downgrade():
    with op.batch_alter_table('report_user', schema=None) as batch_op:
        batch_op.drop_index('ix_report_user_key_used')
        batch_op.drop_index('ix_report_user_enabled')
        batch_op.drop_index('ix_report_user_covered')
        batch_op.drop_index('ix_report_user_abandoned')
        batch_op.drop_index('ix_report_user_status')

    op.drop_table('report_user')
    with op.batch_alter_table('report_snapshot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_snapshot_taken_at'))

    op.drop_table('report_snapshot')
