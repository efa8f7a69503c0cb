"""API keys (stored as SHA-256 hashes of 256-bit random secrets) and per-key / per-address rate limits.

A key reads ``st_<id>_<secret>``; the id is stored in clear (to find the row), the secret only as its hash.  A
request sends it as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import threading
import time as _time

import sqlalchemy as sa

from .db import ApiKey, Database
from .errors import AuthenticationException, RateLimitException


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(db: Database, name: str = "") -> tuple[str, str]:
    """A new key: returns (id, the full key, shown once)."""
    kid = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    with db.session.begin() as s:
        s.add(ApiKey(id=kid, name=str(name)[:200], secret_hash=_hash(secret), created=_time.time(), revoked=False))
    return kid, f"st_{kid}_{secret}"


def list_keys(db: Database) -> list[dict]:
    with db.session() as s:
        rows = s.scalars(sa.select(ApiKey).order_by(ApiKey.created)).all()
        return [{"id": r.id, "name": r.name, "created": r.created, "revoked": r.revoked} for r in rows]


def revoke_key(db: Database, kid: str) -> bool:
    with db.session.begin() as s:
        row = s.get(ApiKey, kid)
        if row is None:
            return False
        row.revoked = True
    return True


class KeyChecker:
    """Checks keys against the database, remembering answers for a few seconds (revocation shows within that)."""

    TTL = 5.0

    def __init__(self, db: Database):
        self.db = db
        self._memo: dict[str, tuple[float, str | None, bool]] = {}
        self._lock = threading.Lock()

    def key_id(self, headers) -> str:
        """The id of a valid key in the headers, or AuthenticationException (401)."""
        text = headers.get("x-api-key")
        auth = headers.get("authorization")
        if not text and auth:
            scheme, _, value = auth.partition(" ")
            if scheme.lower() == "bearer":
                text = value.strip()
        if not text:
            raise AuthenticationException("this endpoint needs an API key: send 'Authorization: Bearer <key>' "
                                          "(create one with 'stratotrack serve keys create')",
                                          headers={"WWW-Authenticate": "Bearer"})
        parts = text.strip().split("_", 2)
        if len(parts) != 3 or parts[0] != "st" or not parts[1] or not parts[2] or len(text) > 200:
            raise AuthenticationException("the API key is malformed; expected st_<id>_<secret> as created by "
                                          "'stratotrack serve keys create'", headers={"WWW-Authenticate": "Bearer"})
        kid, secret = parts[1], parts[2]
        now = _time.monotonic()
        with self._lock:
            hit = self._memo.get(kid)
        if hit is None or now - hit[0] > self.TTL:
            with self.db.session() as s:
                row = s.get(ApiKey, kid)
                hit = (now, None if row is None else row.secret_hash, bool(row is not None and row.revoked))
            with self._lock:
                if len(self._memo) > 10000:
                    self._memo.clear()
                self._memo[kid] = hit
        _, h, revoked = hit
        if h is None or revoked or not hmac.compare_digest(h, _hash(secret)):
            raise AuthenticationException("the API key is unknown or revoked", headers={"WWW-Authenticate": "Bearer"})
        return kid


class RateLimiter:
    """Token buckets: ``rate`` requests per second, ``burst`` seconds' worth at once, per name."""

    def __init__(self, rate: float, burst: float, what: str):
        self.rate = float(rate)
        self.capacity = max(1.0, self.rate * float(burst))
        self.what = what
        self._b: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, name: str) -> None:
        now = _time.monotonic()
        with self._lock:
            tokens, last = self._b.get(name, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._b[name] = (tokens, now)
                wait = max(1, math.ceil((1.0 - tokens) / self.rate))
                raise RateLimitException(f"too many requests from this {self.what}: at most {self.rate:g} per second; "
                                         f"retry after {wait} s", headers={"Retry-After": str(wait)})
            self._b[name] = (tokens - 1.0, now)
            if len(self._b) > 100000:
                self._b = {k: v for k, v in self._b.items() if now - v[1] < 60.0}
