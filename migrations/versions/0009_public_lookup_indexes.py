"""Indexes for the public lookup and the searches by part of a name

The public list (`GET /public/qualifications`, no sign-in) orders the valid qualifications by
tier, enterprise name and number: with an index in that order a page is read in order instead
of sorting every valid qualification (500,000 qualifications on PostgreSQL: 106 -> 16 ms).

The public lookup by keyword and the case search by enterprise name (`GET
/instances?enterprise_name=`) look for a part of a name (`LIKE '%...%'`), which no B-tree index
serves: each read the whole table. On PostgreSQL, pg_trgm's GIN indexes serve such patterns of
three or more characters, Chinese characters included under a UTF-8 ctype. pg_trgm is a trusted
extension since PostgreSQL 13 (the database's owner may create it); where it cannot be created,
the trigram indexes are left out with a warning and those searches read the table as before.
SQLite has no such index.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 16:40:00
"""

import logging

from alembic import op
from sqlalchemy.exc import DBAPIError

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

INDEXES = [
    ("ix_qualification_name_trgm", "qualification", "enterprise_name"),
    ("ix_enterprise_name_trgm", "enterprise", "name"),
]


def upgrade() -> None:
    op.create_index(
        "ix_qualification_public_order", "qualification", ["tier", "enterprise_name", "number"]
    )
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DBAPIError as error:
        logging.getLogger("alembic.runtime.migration").warning(
            "pg_trgm cannot be created (%s): searches by part of a name stay unindexed",
            str(error.orig).strip(),
        )
        return
    for name, table, column in INDEXES:
        bind.exec_driver_sql(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({column} gin_trgm_ops)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, _, _ in INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
    op.drop_index("ix_qualification_public_order", table_name="qualification")
