"""findings per snapshot

Each refresh judges every user against Security Hub's IAM.3/5/8/19/22, two CIS checks and the
force-MFA policy's coverage. report_finding holds one row per failing (user, control) with the dates
that decided it; its unique index leads with (snapshot_id, control) so each finding filter is an index
range. report_user.findings repeats the ids for the table and CSV; report_snapshot.findings keeps the
counts (and thresholds) so the history chart reads snapshots only.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 19:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('report_snapshot') as batch:
        batch.add_column(sa.Column('findings', sa.Text(), nullable=True))
        batch.add_column(sa.Column('thresholds', sa.Text(), nullable=True))
    with op.batch_alter_table('report_user') as batch:
        batch.add_column(sa.Column('findings', sa.String(length=256), server_default='', nullable=False))
        batch.add_column(sa.Column('key_facts', sa.Text(), nullable=True))
    op.create_table(
        'report_finding',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('snapshot_id', sa.Integer(), nullable=False),
        sa.Column('user_name', sa.String(length=128), nullable=False),
        sa.Column('control', sa.String(length=32), nullable=False),
        sa.Column('causes', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['snapshot_id'], ['report_snapshot.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('snapshot_id', 'control', 'user_name', name='uq_report_finding_control_user'),
    )


def downgrade():
    op.drop_table('report_finding')
    with op.batch_alter_table('report_user') as batch:
        batch.drop_column('key_facts')
        batch.drop_column('findings')
    with op.batch_alter_table('report_snapshot') as batch:
        batch.drop_column('thresholds')
        batch.drop_column('findings')
