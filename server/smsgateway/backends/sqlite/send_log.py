"""`SendLog` on the embedded SQLite database: accepted provider calls by bizId."""

from __future__ import annotations

from collections.abc import Sequence

from smsgateway.backends.sqlite.database import SqliteDatabase
from smsgateway.backends.sqlite.rows import REPORT_COLUMNS, execute_rows, report_from_row, utc
from smsgateway.events.model import SentBatch, StoredReport

_RECORD = (
    "INSERT OR REPLACE INTO send_log (biz_id, sign, kind, sent_at, phone_numbers, caller)"
    " VALUES {rows}"
)


class SqliteSendLog:
    """`SendLog` on a `SqliteDatabase` (the same file as the reports it is matched with)."""

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def record_sends(self, batches: Sequence[SentBatch]) -> None:
        if batches:
            await self._db.write(self._record_sends, list(batches))

    def _record_sends(self, batches: list[SentBatch]) -> None:
        # Multi-row statements, each committing by itself without an fsync (written
        # behind the sends' answers; see `SqliteDatabase.unsynced`). A report that beat
        # its send's record gets the sign from a trigger (`send_log_sign_reports`) inside
        # the same statement.
        values: list[object] = []
        for b in batches:
            values += (
                b.biz_id,
                b.sign,
                b.kind,
                b.sent_at.timestamp(),
                ",".join(b.phone_numbers),
                b.caller,
            )
        execute_rows(self._db.unsynced, _RECORD, 6, values)

    async def sent_batch(self, biz_id: str) -> SentBatch | None:
        return await self._db.read(self._sent_batch, biz_id)

    def _sent_batch(self, biz_id: str) -> SentBatch | None:
        conn = self._db.conn
        row = None
        for table in ("send_log", "sends") if self._db.legacy_send_log else ("send_log",):
            row = conn.execute(
                "SELECT biz_id, sign, kind, sent_at, phone_numbers, caller"
                f" FROM {table} WHERE biz_id = ?",
                (biz_id,),
            ).fetchone()
            if row is not None:
                break
        if row is None:
            return None
        phones = tuple(p for p in row["phone_numbers"].split(",") if p)
        return SentBatch(
            row["biz_id"],
            phones,
            row["sign"],
            int(row["kind"]),
            utc(row["sent_at"]),
            row["caller"],
        )

    async def latest_reports(self, biz_id: str) -> dict[str, StoredReport]:
        return await self._db.read(self._latest_reports, biz_id)

    def _latest_reports(self, biz_id: str) -> dict[str, StoredReport]:
        rows = self._db.conn.execute(
            f"SELECT {REPORT_COLUMNS} FROM reports WHERE biz_id = ? ORDER BY cursor", (biz_id,)
        ).fetchall()
        latest: dict[str, StoredReport] = {}
        for row in rows:
            report = report_from_row(row)
            phone = report.report.phone_number
            current = latest.get(phone)
            # The newest by the provider's report time (none counts as oldest);
            # on a tie the later arrival wins.
            if current is None or _report_order(report) >= _report_order(current):
                latest[phone] = report
        return latest


def _report_order(stored: StoredReport) -> tuple[float, int]:
    report_time = stored.report.report_time
    return (report_time.timestamp() if report_time is not None else float("-inf"), stored.cursor)
