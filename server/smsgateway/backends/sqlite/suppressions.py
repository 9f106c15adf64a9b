"""`Suppressions` on the embedded SQLite database: opt-outs per sign."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from smsgateway.backends.sqlite.database import SqliteDatabase
from smsgateway.backends.sqlite.rows import json_list, utc
from smsgateway.events.model import Suppression


class SqliteSuppressions:
    """`Suppressions` on a `SqliteDatabase` (opt-out uplinks add theirs in the same commit)."""

    def __init__(self, db: SqliteDatabase, *, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    async def add_suppression(self, sign: str, phone_number: str, reason: str) -> Suppression:
        return await self._db.write(self._add_suppression, sign, phone_number, reason)

    def _add_suppression(self, sign: str, phone_number: str, reason: str) -> Suppression:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO suppressions (sign, phone, reason, created_at)"
                " VALUES (?, ?, ?, ?)",
                (sign, phone_number, reason, self._clock()),
            )
            row = conn.execute(
                "SELECT reason, created_at FROM suppressions WHERE sign = ? AND phone = ?",
                (sign, phone_number),
            ).fetchone()
        return Suppression(sign, phone_number, row[0], utc(row[1]))

    async def remove_suppression(self, sign: str, phone_number: str) -> bool:
        return await self._db.write(self._remove_suppression, sign, phone_number)

    def _remove_suppression(self, sign: str, phone_number: str) -> bool:
        with self._db.transaction() as conn:
            cur = conn.execute(
                "DELETE FROM suppressions WHERE sign = ? AND phone = ?", (sign, phone_number)
            )
            return cur.rowcount > 0

    async def list_suppressions(
        self, sign: str, after: tuple[str, str] | None, limit: int
    ) -> list[Suppression]:
        return await self._db.read(self._list_suppressions, sign, after, limit)

    def _list_suppressions(
        self, sign: str, after: tuple[str, str] | None, limit: int
    ) -> list[Suppression]:
        clauses: list[str] = []
        params: list[Any] = []
        if sign:
            clauses.append("sign = ?")
            params.append(sign)
        if after is not None:
            clauses.append("(sign, phone) > (?, ?)")
            params.extend(after)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        rows = self._db.conn.execute(
            f"SELECT sign, phone, reason, created_at FROM suppressions{where}"
            " ORDER BY sign, phone LIMIT ?",
            (*params, max(limit, 0)),
        )
        return [Suppression(r[0], r[1], r[2], utc(r[3])) for r in rows]

    async def suppressed(self, sign: str, phone_numbers: Sequence[str]) -> set[str]:
        if not phone_numbers:
            return set()
        return await self._db.read(self._suppressed, sign, list(phone_numbers))

    def _suppressed(self, sign: str, phone_numbers: list[str]) -> set[str]:
        # A suppression under the empty sign (an opt-out uplink that named no
        # sign) applies to every sign.
        rows = self._db.conn.execute(
            "SELECT DISTINCT phone FROM suppressions WHERE sign IN (?, '')"
            " AND phone IN (SELECT value FROM json_each(?))",
            (sign, json_list(phone_numbers)),
        )
        return {r[0] for r in rows}
