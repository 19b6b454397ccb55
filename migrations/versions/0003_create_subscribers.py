"""Create subscribers, with their consent record.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "subscribers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("email_key", sa.String(length=254), nullable=False),
        sa.Column("link_key", sa.String(length=32), nullable=False),
        sa.Column("first_name", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=True),
        sa.Column("consent_version", sa.String(length=20), nullable=True),
        sa.Column("optin_time", sa.DateTime(), nullable=False),
        sa.Column("optin_ip", sa.String(length=45), nullable=True),
        sa.Column("confirm_time", sa.DateTime(), nullable=True),
        sa.Column("confirm_ip", sa.String(length=45), nullable=True),
        sa.Column("unsub_time", sa.DateTime(), nullable=True),
        sa.Column("mail_owed", sa.Boolean(), nullable=False),
        sa.Column("last_mailed_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'subscribed', 'unsubscribed')", name=op.f("ck_subscribers_status_known")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscribers")),
        sa.UniqueConstraint("email_key", name=op.f("uq_subscribers_email_key")),
        sa.UniqueConstraint("link_key", name=op.f("uq_subscribers_link_key")),
    )
    op.create_index(op.f("ix_subscribers_confirm_time"), "subscribers", ["confirm_time"])
    op.create_index(op.f("ix_subscribers_mail_owed"), "subscribers", ["mail_owed"])
    op.create_index(op.f("ix_subscribers_optin_time"), "subscribers", ["optin_time"])
    op.create_index(op.f("ix_subscribers_status"), "subscribers", ["status"])


def downgrade():
    op.drop_table("subscribers")
