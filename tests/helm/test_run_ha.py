"""`make run-ha` (scripts/run_ha.py) really runs three gateways on one Redis, and the commands
it prints really show them sharing the work.

The script is run as a user would (`--free-ports` so it cannot collide with anything), its
banner is parsed, and the smsctl commands it prints are executed as printed: a consumer group
with members on B and C shares the reports of a send made through A, a send's status is read
on another replica, the same request_id on A and B is sent once, the three gateways fetched
one token. Ctrl-C then stops every process it started.
"""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import signal
import socket
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "run_ha.py"
READY_TIMEOUT_S = 120.0

pytestmark = pytest.mark.slow


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


async def _smsctl(command: list[str]) -> str:
    process = await asyncio.create_subprocess_exec(
        *command, cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, f"{shlex.join(command)}:\n{output.decode()}"
    return output.decode()


async def _collect(
    process: asyncio.subprocess.Process, into: asyncio.Queue[dict[str, object]]
) -> None:
    assert process.stdout is not None
    while line := await process.stdout.readline():
        if line.startswith(b"{"):
            into.put_nowait(json.loads(line))


async def test_run_ha_prints_commands_that_show_three_gateways_sharing_work(
    tmp_path: Path,
) -> None:
    run_dir = tmp_path / "run"
    demo = await asyncio.create_subprocess_exec(
        sys.executable,
        str(SCRIPT),
        "--free-ports",
        "--dir",
        str(run_dir),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert demo.stdout is not None
    banner: list[str] = []
    watchers: list[asyncio.subprocess.Process] = []
    ports: dict[str, list[int]] = {}
    redis_port = 0
    try:
        async with asyncio.timeout(READY_TIMEOUT_S):
            while "Ctrl-C stops everything." not in banner:
                line = (await demo.stdout.readline()).decode()
                assert line, "run_ha.py exited before it was ready:\n" + "".join(banner)
                banner.append(line.rstrip("\n"))
        text = "\n".join(banner)
        ports = {
            name: [int(p) for p in found]
            for name, *found in re.findall(
                r"gateway (\w)\s+gRPC localhost:(\d+)\s+callbacks :(\d+)\s+metrics "
                r"http://localhost:(\d+)",
                text,
            )
        }
        assert set(ports) == {"A", "B", "C"}
        assert all(_listening(port) for trio in ports.values() for port in trio)
        (redis_port,) = (int(p) for p in re.findall(r"redis\s+127\.0\.0\.1:(\d+)", text))
        commands = [shlex.split(line) for line in banner if line.strip().startswith(".venv/")]
        watch_b, watch_c, send, status, once_a, once_b, state = commands

        # The consumer group: members on B and C, JSON so the test can read them.
        reports: asyncio.Queue[dict[str, object]] = asyncio.Queue()
        readers = []
        for command in (watch_b, watch_c):
            process = await asyncio.create_subprocess_exec(
                *command, "--json", cwd=REPO, stdout=asyncio.subprocess.PIPE
            )
            watchers.append(process)
            readers.append(asyncio.create_task(_collect(process, reports)))
        await asyncio.sleep(2)  # both members joined before the reports exist

        sent = await _smsctl(send)
        (biz_id,) = re.findall(r"bizId (\d+)\s+ACCEPTED\s+3 numbers", sent)
        first = await _smsctl(once_a)
        second = await _smsctl(once_b)
        assert "replayed" not in first and "replayed" in second
        assert re.findall(r"bizId (\d+)", first) == re.findall(r"bizId (\d+)", second)

        # Each report reaches exactly one member of the group (pushed to A, read on B and C).
        mine: list[dict[str, object]] = []
        async with asyncio.timeout(30):
            while len({r["phoneNumber"] for r in mine}) < 3:
                report = await reports.get()
                if report["bizId"] == biz_id:
                    mine.append(report)
        await asyncio.sleep(1)  # a duplicate delivery, if any, would arrive now
        while not reports.empty():
            report = reports.get_nowait()
            if report["bizId"] == biz_id:
                mine.append(report)
        assert len(mine) == len({r["cursor"] for r in mine}) == 3, mine

        # The send log is shared: C answers the status of a send made through A.
        answered = await _smsctl([biz_id if part == "BIZID" else part for part in status])
        assert biz_id in answered and "total 3" in answered
        # One token for the three gateways.
        assert json.loads(await _smsctl(state))["tokensIssued"] == 1
    finally:
        for process in watchers:
            if process.returncode is None:
                process.terminate()
                await asyncio.wait_for(process.wait(), timeout=30)
        if demo.returncode is None:
            demo.send_signal(signal.SIGINT)
        rest, _ = await asyncio.wait_for(demo.communicate(), timeout=90)
    assert demo.returncode == 0, "\n".join(banner) + rest.decode()
    assert "stopping the gateways, then the sandbox, then Redis" in rest.decode()
    # Every process it started is gone; their logs and Redis's AOF stay in --dir.
    assert not any(_listening(port) for trio in ports.values() for port in trio)
    assert not _listening(redis_port)
    logs = {p.name for p in run_dir.glob("*.log")}
    assert logs == {"redis.log", "sandbox.log", "gateway-a.log", "gateway-b.log", "gateway-c.log"}
    assert (run_dir / "appendonlydir").is_dir()
