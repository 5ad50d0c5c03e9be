"""Users, enterprises and bearer tokens (stored as sha256 only)."""

from __future__ import annotations

import hashlib
import secrets
import time

from sqlalchemy import func, select

from engine.context import Actor, EngineContext
from engine.errors import Unauthorized
from engine.store import ApiToken, Enterprise, User


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def ensure_user(
    ctx: EngineContext,
    *,
    user_id: str,
    display_name: str,
    role: str,
    region: str | None = None,
    uscc: str | None = None,
) -> None:
    ctx.caches.pop("tokens", None)  # this process sees a changed role at once
    with ctx.transaction() as session:
        row = session.get(User, user_id)
        if row is None:
            session.add(
                User(id=user_id, display_name=display_name, role=role, region=region, uscc=uscc)
            )
        else:
            row.display_name, row.role, row.region, row.uscc = display_name, role, region, uscc


def ensure_enterprise(ctx: EngineContext, *, uscc: str, name: str, region: str | None) -> None:
    with ctx.transaction() as session:
        row = session.get(Enterprise, uscc)
        if row is None:
            session.add(Enterprise(uscc=uscc, name=name, region=region))
        else:
            row.name, row.region = name, region


def issue_token(ctx: EngineContext, user_id: str) -> str:
    """Create a new bearer token for a user; only its hash is stored."""
    token = secrets.token_urlsafe(24)
    with ctx.transaction() as session:
        session.add(ApiToken(token_hash=hash_token(token), user_id=user_id, created_at=ctx.now()))
    return token


def actor_for_token(ctx: EngineContext, token: str) -> Actor:
    """The actor a bearer token names; resolved tokens are kept `auth_cache_s` seconds."""
    key = hash_token(token)
    cache = ctx.caches.setdefault("tokens", {})
    hit = cache.get(key)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    actor = _lookup_token(ctx, key)
    if ctx.settings.auth_cache_s > 0:
        if len(cache) > 10_000:
            cache.clear()
        cache[key] = (time.monotonic() + ctx.settings.auth_cache_s, actor)
    return actor


def _lookup_token(ctx: EngineContext, token_hash: str) -> Actor:
    with ctx.reading() as session:
        row = session.execute(
            select(User)
            .join(ApiToken, ApiToken.user_id == User.id)
            .where(ApiToken.token_hash == token_hash)
        ).scalar_one_or_none()
        if row is None:
            raise Unauthorized("令牌无效")
        return Actor(
            id=row.id,
            role=row.role,
            region=row.region,
            uscc=row.uscc,
            display_name=row.display_name,
        )


def revoke_tokens(ctx: EngineContext, user_id: str) -> int:
    """Delete every token of a user; return how many. This process forgets them at once, other
    processes within `auth_cache_s`."""
    ctx.caches.pop("tokens", None)
    with ctx.transaction() as session:
        rows = list(session.scalars(select(ApiToken).where(ApiToken.user_id == user_id)))
        for row in rows:
            session.delete(row)
        return len(rows)


def list_users(ctx: EngineContext, role: str | None = None) -> list[tuple[User, int]]:
    """Users (of one role) with their number of tokens, by id."""
    query = (
        select(User, func.count(ApiToken.token_hash))
        .outerjoin(ApiToken, ApiToken.user_id == User.id)
        .group_by(User.id)
        .order_by(User.id)
    )
    if role:
        query = query.where(User.role == role)
    with ctx.reading() as session:
        return [(user, count) for user, count in session.execute(query)]
