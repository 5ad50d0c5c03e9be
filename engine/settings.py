"""Settings from TIDU_* environment variables (built once by the app or CLI, never at import)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

ROLES = ("enterprise", "city", "province", "miit", "process_owner", "auditor", "public")
TASK_ROLES = ("enterprise", "city", "province", "miit")

# 12 regions (第二条 scope): 11 设区市 + 赣江新区, whose code is a setting (TIDU_GJXQ_REGION).
REGIONS = {
    "360100": "南昌市",
    "360200": "景德镇市",
    "360300": "萍乡市",
    "360400": "九江市",
    "360500": "新余市",
    "360600": "鹰潭市",
    "360700": "赣州市",
    "360800": "吉安市",
    "360900": "宜春市",
    "361000": "抚州市",
    "361100": "上饶市",
}


def _pairs(text: str) -> dict[str, str]:
    """Parse "a=b,c=d" into a dict (unknown roles are rejected)."""
    out = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        key, _, role = item.partition("=")
        if role.strip() not in TASK_ROLES:
            raise ValueError(
                f"TIDU_LANE_ALIASES: {role!r} is not a task role ({', '.join(TASK_ROLES)})"
            )
        out[key.strip()] = role.strip()
    return out


def _number_or_off(name: str, text: str, unit: str) -> int | None:
    """A number of `unit` (0 or more), or off ("off", "none", "")."""
    if text.strip().lower() in ("off", "none", ""):
        return None
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{name}: {text!r} is neither a number of {unit} nor off") from None
    if value < 0:
        raise ValueError(f"{name}: {text!r} is negative")
    return value


@dataclass(frozen=True)
class Settings:
    """Runtime configuration of one tidu process."""

    database_url: str = "sqlite:///var/tidu.db"
    timezone: str = "Asia/Shanghai"
    processes_dir: Path = Path("processes")
    gjxq_region: str = "361200"  # 赣江新区: not a USCC division, so its code is configurable
    embedded_scheduler: bool = True
    engine_step_budget_s: float = 10.0
    message_ttl_days: int = 30  # how long a message waits for a receiver that does not wait yet
    # compact the state of cases finished more than this many days ago, once a day, in the
    # scheduler (engine/compaction.py); None: only when an operator runs `tidu cases compact`
    compact_finished_after_days: int | None = None
    # how long a process trusts a resolved bearer token before asking the database again
    # (0: every request asks); a user's changed role reaches other processes within this time
    auth_cache_s: float = 30.0
    # test each pooled PostgreSQL connection with a round trip before use; off by default:
    # commands are re-run once on a connection the server dropped, and connections are
    # recycled after db_pool_recycle_s
    db_pre_ping: bool = False
    db_pool_recycle_s: int = 600
    # PostgreSQL (psycopg): a command's writes wait and go in one pipelined round trip
    # (engine/writes.py); off: each write is its own round trip, for a proxy that cannot
    # carry pipelined statements
    db_pipeline_writes: bool = True
    # PostgreSQL (psycopg): executions of a statement on a connection after which psycopg
    # prepares it on the server (psycopg's prepare_threshold); None: never. A proxy that pools
    # server connections per transaction (PgBouncer before 1.21, or without
    # max_prepared_statements) hands one client's prepared statements to the next: set None
    # behind one (docs/scaling.md, "Behind PgBouncer")
    db_prepare_threshold: int | None = 5
    # how long a command waits for a row another transaction holds (PostgreSQL's lock_timeout)
    # or for SQLite's write lock (its busy timeout) before it answers 409 `busy`, nothing kept;
    # 0: no limit. Below the HTTP worker's own timeout, so that the client hears why
    db_lock_timeout_s: float = 10.0
    # PostgreSQL: where the scheduler LISTENs for timers that other processes write (None: the
    # database_url). A proxy that pools per transaction cannot carry LISTEN: point this past it
    database_listen_url: str | None = None
    # cases whose workflow a process keeps in memory between commands (engine/case_cache.py);
    # 0 turns the cache off
    case_cache_size: int = 256
    # SQLite only: WAL pages written before a checkpoint copies them into the database file
    # (engine/store.make_engine)
    sqlite_wal_autocheckpoint: int = 10_000
    # SQLite only: seconds a process gathers its commits before a thread of its own checkpoints
    # them (engine/checkpoint.py); 0 leaves checkpoints to the commits (wal_autocheckpoint)
    sqlite_checkpoint_interval_s: float = 0.2
    # serving processes freeze their startup heap for the garbage collector (api.settle_heap)
    gc_freeze: bool = True
    # warn (GET /calendars, the incidents page, `tidu calendar check`) this many days before a
    # year without working-day data (processes/calendars/<year>.json) begins
    calendar_warn_days: int = 60
    regions: dict[str, str] = field(default_factory=dict)
    # lane id or name -> role, for diagrams with other lane names
    # (TIDU_LANE_ALIASES="a=city,b=province")
    lane_aliases: dict[str, str] = field(default_factory=dict)

    def region_names(self) -> dict[str, str]:
        """Return region code -> Chinese name, including 赣江新区."""
        return {**REGIONS, self.gjxq_region: "赣江新区", **self.regions}

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Build settings from TIDU_* environment variables."""
        env = os.environ
        values: dict[str, object] = {
            "database_url": env.get("TIDU_DATABASE_URL", "sqlite:///var/tidu.db"),
            "timezone": env.get("TIDU_TIMEZONE", "Asia/Shanghai"),
            "processes_dir": Path(env.get("TIDU_PROCESSES_DIR", "processes")),
            "gjxq_region": env.get("TIDU_GJXQ_REGION", "361200"),
            "embedded_scheduler": env.get("TIDU_EMBEDDED_SCHEDULER", "1") not in ("0", "false"),
            "lane_aliases": _pairs(env.get("TIDU_LANE_ALIASES", "")),
            "auth_cache_s": float(env.get("TIDU_AUTH_CACHE_SECONDS", "30")),
            "db_pre_ping": env.get("TIDU_DB_PRE_PING", "0") not in ("0", "false", ""),
            "db_pool_recycle_s": int(env.get("TIDU_DB_POOL_RECYCLE_SECONDS", "600")),
            "db_pipeline_writes": env.get("TIDU_DB_PIPELINE_WRITES", "1") not in ("0", "false", ""),
            "db_prepare_threshold": _number_or_off(
                "TIDU_DB_PREPARE_THRESHOLD", env.get("TIDU_DB_PREPARE_THRESHOLD", "5"), "executions"
            ),
            "db_lock_timeout_s": float(env.get("TIDU_DB_LOCK_TIMEOUT_SECONDS", "10")),
            "database_listen_url": env.get("TIDU_DATABASE_LISTEN_URL") or None,
            "case_cache_size": int(env.get("TIDU_CASE_CACHE_SIZE", "256")),
            "sqlite_wal_autocheckpoint": int(env.get("TIDU_SQLITE_WAL_AUTOCHECKPOINT", "10000")),
            "sqlite_checkpoint_interval_s": float(
                env.get("TIDU_SQLITE_CHECKPOINT_INTERVAL_SECONDS", "0.2")
            ),
            "gc_freeze": env.get("TIDU_GC_FREEZE", "1") not in ("0", "false", ""),
            "calendar_warn_days": int(env.get("TIDU_CALENDAR_WARN_DAYS", "60")),
            "compact_finished_after_days": _number_or_off(
                "TIDU_COMPACT_FINISHED_AFTER_DAYS",
                env.get("TIDU_COMPACT_FINISHED_AFTER_DAYS", ""),
                "days",
            ),
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
