"""The Alembic migrations build exactly the schema the models declare (tables, columns,
indexes, constraints), on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from engine.store import Base


def test_migrated_schema_matches_the_models(db_engine) -> None:  # type: ignore[no-untyped-def]
    with db_engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert differences == []


def test_each_inbox_scope_has_its_ordered_index(db_engine) -> None:  # type: ignore[no-untyped-def]
    indexes = {i["name"]: i["column_names"] for i in inspect(db_engine).get_indexes("human_task")}
    assert indexes["ix_human_task_inbox_uscc_order"][:2] == ["uscc", "state"]  # enterprise
    assert indexes["ix_human_task_inbox_region_order"][:3] == ["state", "role", "region"]  # city
    assert indexes["ix_human_task_inbox_role_order"][:2] == ["state", "role"]  # province, MIIT
    # 0006: a prefix of the region index, and a uscc index the enterprise one replaces
    assert "ix_human_task_inbox" not in indexes
    assert "ix_human_task_uscc" not in indexes


@pytest.mark.usefixtures("requires_postgres")  # SQLite stores text uncompressed
def test_postgresql_compresses_case_state_with_lz4(db_engine) -> None:  # type: ignore[no-untyped-def]
    with db_engine.connect() as conn:
        methods = dict(
            conn.execute(
                text(
                    "SELECT attrelid::regclass::text || '.' || attname, attcompression"
                    " FROM pg_attribute WHERE (attrelid::regclass::text, attname) IN"
                    " (('process_instance', 'state_json'), ('human_task', 'data'))"
                )
            ).all()
        )
    assert methods == {"process_instance.state_json": "l", "human_task.data": "l"}  # 0007
