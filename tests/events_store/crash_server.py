"""A webhook server + SQLite store in a process of its own, to be SIGKILLed by a test.

Usage: python crash_server.py DB_PATH  (prints "PORT <n>" once it listens)
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from smsgateway.events.ingest import Ingestor
from smsgateway.events.optout import OptOutRules
from smsgateway.events.sqlite_store import SQLiteEventStore
from smsgateway.events.webhooks import WebhookConfig, WebhookServer


async def main(db: Path) -> None:
    store = SQLiteEventStore(db)
    await store.open()
    ingestor = Ingestor(store, on_stored=lambda _stream, _events: None, opt_out=OptOutRules())
    server = WebhookServer(ingestor, WebhookConfig(), host="127.0.0.1", port=0)
    await server.start()
    print(f"PORT {server.port}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
