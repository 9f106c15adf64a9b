"""A webhook server + SQLite store in a process of its own, to be SIGKILLed by a test.

Usage: python crash_server.py DATA_DIR/events.db  (prints "PORT <n>" once it listens)
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from smsgateway.backends import sqlite as sqlite_backend
from smsgateway.events.ingest import Ingestor
from smsgateway.events.optout import OptOutRules
from smsgateway.events.webhooks import WebhookConfig, WebhookServer


async def main(db: Path) -> None:
    store = await sqlite_backend.open_backend(sqlite_backend.SqliteOptions(data_dir=db.parent))
    ingestor = Ingestor(
        store.events,
        store.dead_letters,
        on_stored=lambda _stream, _events: None,
        opt_out=OptOutRules(),
    )
    server = WebhookServer(ingestor, WebhookConfig(), host="127.0.0.1", port=0)
    await server.start()
    print(f"PORT {server.port}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
