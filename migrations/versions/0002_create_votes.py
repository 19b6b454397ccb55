"""Create votes: answers to "Was this page helpful?".

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "votes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article", sa.String(length=200), nullable=False),
        sa.Column("vote_id", sa.String(length=64), nullable=False),
        sa.Column("vote", sa.String(length=3), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("vote IN ('yes', 'no')", name=op.f("ck_votes_vote_yes_or_no")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_votes")),
        sa.UniqueConstraint("article", "vote_id", name="uq_votes_article_vote_id"),
    )


def downgrade():
    op.drop_table("votes")
