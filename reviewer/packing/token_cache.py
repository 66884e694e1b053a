"""A persistent cache of exact token counts, keyed by the exact text counted.

The web app packs the same upload twice (preview, then the worker), and teams
re-review a repository after small changes, so most file blocks have been
counted before. Counting is the largest cost of a pack (~0.25 us per token), so
block counts are kept in a small SQLite file:

    key   = sha256(encoding name, NUL, the block's UTF-8 bytes)   -- 32 bytes
    value = token count, a check word, and when the row was last used

A hit is only trusted if its check word matches (sha256 of key + count, so a
damaged row is not silently believed) and the count is plausible (at least one
token for non-empty text, at most one per byte). Anything unexpected - a file
that is not SQLite, another application's database, a schema from another
version, a locked or read-only file - turns the cache off for that pack and
counting proceeds as without it: the cache can make a pack faster, never wrong
and never fail.

Concurrency: WAL mode and a busy timeout; each pack reads in one pass and writes
its new counts in one short transaction, so two processes packing at once
just both write (INSERT OR IGNORE: the same key always carries the same count).

Size: bounded by ``max_entries`` rows (~100 bytes each on disk); past it, the
least recently used rows are deleted down to 90% of the bound.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import time
from collections.abc import Iterable

log = logging.getLogger(__name__)

FILENAME = "token-counts.sqlite3"
APPLICATION_ID = 0x52565443  # "RVTC": marks the file as ours
SCHEMA_VERSION = 1
DEFAULT_MAX_ENTRIES = 500_000  # ~50 MB on disk at most
_TOUCH_SECONDS = 3600  # last-used times are refreshed at most hourly (fewer writes)


def block_key(encoding_name: str, text: str) -> bytes:
    h = hashlib.sha256(encoding_name.encode())
    h.update(b"\0")
    # surrogatepass: never raise on text a decoder let through; the key stays exact.
    h.update(text.encode("utf-8", "surrogatepass"))
    return h.digest()


def _check(key: bytes, tokens: int) -> int:
    return int.from_bytes(hashlib.sha256(key + tokens.to_bytes(8, "little")).digest()[:7], "little")


def plausible(text_len: int, tokens: int) -> bool:
    """A count for a text of ``text_len`` characters could be right.

    Every token covers at least one byte and every non-empty text has a token;
    a character is at most 4 UTF-8 bytes.
    """
    if text_len == 0:
        return tokens == 0
    return 1 <= tokens <= 4 * text_len


class TokenCache:
    """Open with ``TokenCache.open(dir)``; ``None`` means: no cache this time."""

    def __init__(self, conn: sqlite3.Connection, max_entries: int):
        self._conn = conn
        self._max = max_entries
        self._new: list[tuple[bytes, int, int, int]] = []
        self._touched: list[bytes] = []
        self._now = int(time.time())
        self.hits = 0
        self.misses = 0

    @classmethod
    def open(
        cls, directory: str | os.PathLike, max_entries: int = DEFAULT_MAX_ENTRIES
    ) -> TokenCache | None:
        path = os.path.join(os.fspath(directory), FILENAME)
        conn = None
        try:
            os.makedirs(directory, exist_ok=True)
            conn = sqlite3.connect(path, timeout=10, isolation_level=None)
            conn.execute("PRAGMA busy_timeout = 10000")
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if app_id == 0 and version == 0:
                cls._create(conn)
            elif app_id != APPLICATION_ID or version != SCHEMA_VERSION:
                log.warning(
                    "token cache %s is not ours (id %s, v%s): not used", path, app_id, version
                )
                conn.close()
                return None
            return cls(conn, max_entries)
        except (sqlite3.Error, OSError) as exc:
            log.warning("token cache %s unusable (%s): counting without it", path, exc)
            if conn is not None:
                conn.close()
            return None

    @staticmethod
    def _create(conn: sqlite3.Connection) -> None:
        # Another process may be creating it at the same moment: do it under a
        # write lock and re-check inside.
        conn.execute("BEGIN IMMEDIATE")
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            if app_id == 0:
                if conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                    raise sqlite3.DatabaseError("a database of another application")
                conn.execute(
                    "CREATE TABLE counts (key BLOB PRIMARY KEY, tokens INTEGER NOT NULL,"
                    " chk INTEGER NOT NULL, used INTEGER NOT NULL) WITHOUT ROWID"
                )
                conn.execute("CREATE INDEX counts_used ON counts(used)")
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        # WAL: readers never wait for a writer. Outside the transaction (required).
        conn.execute("PRAGMA journal_mode = WAL")

    def get(self, key: bytes, text_len: int) -> int | None:
        """The cached count for this key, or None (also when the row looks damaged)."""
        if self._conn is None:
            return None
        try:
            row = self._conn.execute(
                "SELECT tokens, chk, used FROM counts WHERE key = ?", (key,)
            ).fetchone()
        except sqlite3.Error as exc:
            self._disable(exc)
            return None
        if row is None:
            self.misses += 1
            return None
        tokens, chk, used = row
        if (
            not isinstance(tokens, int)
            or chk != _check(key, tokens)
            or not plausible(text_len, tokens)
        ):
            self.misses += 1
            return None
        if used < self._now - _TOUCH_SECONDS:
            self._touched.append(key)
        self.hits += 1
        return tokens

    def put(self, key: bytes, tokens: int) -> None:
        self._new.append((key, tokens, _check(key, tokens), self._now))

    def put_many(self, items: Iterable[tuple[bytes, int]]) -> None:
        for key, tokens in items:
            self.put(key, tokens)

    def take_touched(self) -> list[bytes]:
        """Keys whose last-used time is due, handed over to be written elsewhere (a
        worker process reads the cache; the packing process writes it)."""
        touched, self._touched = self._touched, []
        return touched

    def touch_many(self, keys: Iterable[bytes]) -> None:
        self._touched.extend(keys)

    def close(self) -> None:
        """Write the new counts (one transaction), evict if over the bound, close."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if self._new or self._touched:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    # A damaged row with the same key is replaced, a good one is identical.
                    conn.executemany(
                        "INSERT OR REPLACE INTO counts (key, tokens, chk, used) VALUES (?,?,?,?)",
                        self._new,
                    )
                    conn.executemany(
                        "UPDATE counts SET used = ? WHERE key = ?",
                        [(self._now, k) for k in self._touched],
                    )
                    if self._new:
                        self._evict(conn)
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
        except sqlite3.Error as exc:
            log.warning("token cache not updated (%s)", exc)
        finally:
            self._new.clear()
            self._touched.clear()
            conn.close()

    def _evict(self, conn: sqlite3.Connection) -> None:
        n = conn.execute("SELECT count(*) FROM counts").fetchone()[0]
        if n <= self._max:
            return
        drop = n - int(self._max * 0.9)
        conn.execute(
            "DELETE FROM counts WHERE key IN (SELECT key FROM counts ORDER BY used LIMIT ?)",
            (drop,),
        )

    def _disable(self, exc: Exception) -> None:
        log.warning("token cache failed (%s): counting without it", exc)
        conn, self._conn = self._conn, None
        self._new.clear()
        if conn is not None:
            conn.close()
