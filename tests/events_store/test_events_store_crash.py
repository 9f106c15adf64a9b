"""Killed with SIGKILL right after answering a push: every answered event is stored."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import aiohttp

from smsgateway.backends import sqlite as sqlite_backend
from smsgateway.events.model import StoredReport, StoredUplink, Stream

SERVER = Path(__file__).with_name("crash_server.py")


def batch(n: int, size: int) -> list[dict[str, object]]:
    return [
        {
            "phoneNumber": f"139{n:04d}{i:04d}",
            "reportTime": "2026-01-01 12:00:05",
            "success": True,
            "code": 10000,
            "smsSize": "1",
            "bizId": f"B{n}",
        }
        for i in range(size)
    ]


async def test_answered_pushes_survive_sigkill(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(SERVER), str(db), stdout=asyncio.subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        port = int(line.split()[1])
        url = f"http://127.0.0.1:{port}"
        answered: list[int] = []
        tenth_answer = asyncio.Event()
        async with aiohttp.ClientSession() as session:

            async def push(n: int) -> None:
                body = json.dumps(batch(n, 50)).encode()
                async with session.post(f"{url}/callbacks/delivery-reports", data=body) as resp:
                    reply = await resp.json(content_type=None)
                if resp.status == 200 and reply == {"code": 10000, "msg": "操作成功"}:
                    answered.append(n)
                    if len(answered) >= 10:
                        tenth_answer.set()

            await push(0)
            async with session.post(
                f"{url}/callbacks/uplinks",
                data=json.dumps(
                    [{"phoneNumber": "18612345678", "content": "TD", "sign": "S", "sequenceId": 9}]
                ),
            ) as resp:
                assert (await resp.json(content_type=None))["code"] == "10000"
            # Pushes in flight when the last answer arrives: SIGKILL at once.
            tasks = [asyncio.create_task(push(n)) for n in range(1, 30)]
            await asyncio.wait_for(tenth_answer.wait(), 30)
            os.kill(proc.pid, signal.SIGKILL)
            # Answers already on the wire still arrive: those count as answered too.
            await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
    assert len(answered) >= 10

    store = await sqlite_backend.open_backend(sqlite_backend.SqliteOptions(data_dir=db.parent))
    try:
        stored = await store.events.read(Stream.REPORTS, 0, 100_000)
        by_batch: dict[str, int] = {}
        for event in stored:
            assert isinstance(event, StoredReport)
            by_batch[event.report.biz_id] = by_batch.get(event.report.biz_id, 0) + 1
        # Every answered push is there in full...
        for n in answered:
            assert by_batch.get(f"B{n}") == 50, n
        # ...and a push cut off by the kill is there in full or not at all.
        assert set(by_batch.values()) == {50}
        [uplink] = await store.events.read(Stream.UPLINKS, 0, 10)
        assert isinstance(uplink, StoredUplink) and uplink.opt_out
        assert await store.suppressions.suppressed("S", ["18612345678"]) == {"18612345678"}
    finally:
        await store.close()
