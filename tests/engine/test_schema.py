"""The Alembic migrations build exactly the schema the models declare (tables, columns,
indexes, constraints), on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from engine import migrate
from engine.clock import SimulatedClock
from engine.context import EngineContext
from engine.settings import Settings
from engine.store import Base


def test_migrated_schema_matches_the_models(db_engine) -> None:  # type: ignore[no-untyped-def]
    dialect = db_engine.dialect.name

    def on_this_database(model: Any, *_: Any) -> bool:
        """What the models create on this database: an index declared `ddl_if` another
        database (PostgreSQL's trigram indexes) is not expected here."""
        only = getattr(model, "_ddl_if", None)
        return only is None or only.dialect in (None, dialect)

    with db_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": on_this_database})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


@pytest.mark.usefixtures("requires_postgres")  # SQLite has no trigram index
def test_a_search_by_part_of_a_name_can_use_a_trigram_index(db_engine) -> None:  # type: ignore[no-untyped-def]
    # 0009: LIKE '%...%' on the names the public lookup and the case search look in; the
    # tables here are small, so the planner is told to prefer any index to a scan
    searches = {
        "ix_qualification_name_trgm": "SELECT id FROM qualification WHERE enterprise_name LIKE :p",
        "ix_enterprise_name_trgm": "SELECT uscc FROM enterprise WHERE name LIKE :p",
    }
    with db_engine.connect() as conn:
        conn.exec_driver_sql("SET enable_seqscan = off")
        for index, sql in searches.items():
            plan = conn.execute(text("EXPLAIN " + sql), {"p": "%示例企业123%"}).scalars().all()
            assert any(index in line for line in plan), plan


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


def test_sqlite_connections_get_wal_and_the_configured_checkpoint_interval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: SimulatedClock
) -> None:
    monkeypatch.setenv("TIDU_SQLITE_WAL_AUTOCHECKPOINT", "1234")
    settings = Settings.from_env(database_url=f"sqlite:///{tmp_path}/p.db")
    engine = EngineContext(settings, clock=clock).db
    with engine.connect() as conn:
        found = [conn.exec_driver_sql(f"PRAGMA {p}").scalar() for p in PRAGMAS]
    engine.dispose()
    assert found == ["wal", 1, 1, 1234]  # synchronous=NORMAL is 1


PRAGMAS = ("journal_mode", "foreign_keys", "synchronous", "wal_autocheckpoint")


def test_migration_0010_works_out_the_stage_of_the_cases_it_finds(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Upgrading a database that holds cases: each gets the stage its projections show, and
    the revision goes down and up again."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate.upgrade(url, "0009")
    bpmn = (
        '<definitions><process id="p"><userTask id="review" name="审核"/>'
        '<callActivity id="notice" name="公示"/></process></definitions>'
    )
    at = "2026-01-01 00:00:00.000000"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO definition (id, process_key, version, name, checksum, bpmn_file,"
                " files, spec_json, lanes, deployed_at, deployed_by) VALUES (1, 'p', 1, 'p',"
                " 'c', 'p.bpmn', :files, '{}', '{}', :at, 'owner')"
            ),
            {"files": json.dumps({"p.bpmn": bpmn}), "at": at},
        )
        for case, status, outcome in (
            ("at-task", "running", None),
            ("waiting", "running", None),
            ("done", "completed", "rejected_by_city"),
        ):
            conn.execute(
                text(
                    "INSERT INTO process_instance (id, definition_id, definition_version,"
                    " process_key, business_key, status, outcome, state_json, version,"
                    " started_at, updated_at, started_by) VALUES (:id, 1, 1, 'p', :id, :status,"
                    " :outcome, '{}', 1, :at, :at, 'x')"
                ),
                {"id": case, "status": status, "outcome": outcome, "at": at},
            )
        conn.execute(
            text(
                "INSERT INTO human_task (id, instance_id, process_key, bpmn_id, name, role,"
                " state, data, created_at, due_at) VALUES ('t1', 'at-task', 'p', 'review', '审核',"
                " 'city', 'open', '{}', :at, '2026-02-01 00:00:00.000000')"
            ),
            {"at": at},
        )
        conn.execute(
            text(
                "INSERT INTO timer (instance_id, task_id, bpmn_id, due_at, attempts)"
                " VALUES ('waiting', 't2', 'notice/wait', '2026-03-01 00:00:00.000000', 0)"
            )
        )
    migrate.upgrade(url)
    stages = "SELECT id, stage, stage_name, stage_due_at FROM process_instance ORDER BY id"
    with engine.connect() as conn:
        assert [tuple(r) for r in conn.execute(text(stages))] == [
            ("at-task", "review", "审核", "2026-02-01 00:00:00.000000"),
            ("done", "rejected_by_city", "市级未通过", None),
            ("waiting", "notice", "公示", "2026-03-01 00:00:00.000000"),
        ]
    command.downgrade(migrate.alembic_config(url), "0009")
    with engine.connect() as conn:
        assert "stage" not in {c["name"] for c in inspect(conn).get_columns("process_instance")}
    migrate.upgrade(url)
    engine.dispose()


def test_migration_0011_allows_one_round_of_a_procedure_per_day(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Two rounds of a procedure opening the same day stop the upgrade, naming them; once one
    is moved, the index refuses a second round on that day (as two racing openers would)."""
    url = f"sqlite:///{tmp_path / 'rounds.db'}"
    migrate.upgrade(url, "0010")
    engine = create_engine(url)
    insert = text(
        "INSERT INTO round (id, process_key, label, opens_on, closes_at, created_at) VALUES"
        " (:id, 'innovative_evaluation', :label, :day, '2026-08-01 00:00:00.000000',"
        " '2026-07-01 00:00:00.000000')"
    )
    with engine.begin() as conn:
        for n in (1, 2):
            conn.execute(insert, {"id": n, "label": f"第{n}批", "day": "2026-07-01"})
    with pytest.raises(RuntimeError, match="innovative_evaluation opening 2026-07-01: 2 rounds"):
        migrate.upgrade(url, "0011")
    with engine.begin() as conn:
        conn.execute(text("UPDATE round SET opens_on = '2026-07-02' WHERE id = 2"))
    migrate.upgrade(url, "0011")
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert, {"id": 3, "label": "第3批", "day": "2026-07-01"})
    engine.dispose()
