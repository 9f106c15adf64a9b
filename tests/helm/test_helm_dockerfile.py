"""The container image: what the Dockerfile promises, and the wheel it installs really runs.

No Docker engine runs here, so the Dockerfile is checked statically (pinned slim base,
multi-stage, no compilers in the final stage, numeric non-root user, ports, entrypoint) and
cross-checked with the chart and the service's defaults. The slow test then does what the
build stage does: it builds the wheel from exactly the files the Dockerfile copies, installs
it into a fresh virtualenv and runs the image's command, `smsgateway serve`, until it answers
a gRPC health check, then stops it with SIGTERM as Kubernetes would.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

from smsgateway.config import Settings

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
CHART_VALUES = REPO / "helm" / "smsgateway" / "values.yaml"
COMPILERS = re.compile(r"\b(build-essential|gcc|g\+\+|clang|make|python3?-dev|libc6-dev)\b")


@dataclass
class Stage:
    image: str
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def args(self, instruction: str) -> list[str]:
        return [a for i, a in self.instructions if i == instruction]


def _parse_dockerfile() -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults and the stages (continuation lines joined, comments dropped)."""
    logical: list[str] = []
    current = ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        logical.append(current + stripped)
        current = ""
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for text in logical:
        instruction, _, rest = text.partition(" ")
        instruction = instruction.upper()
        if instruction == "FROM":
            words = rest.split()
            image = re.sub(r"\$\{(\w+)\}", lambda m: global_args[m[1]], words[0])
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else ""
            stages.append(Stage(image, name))
        elif not stages:
            assert instruction == "ARG", "only ARG may precede the first FROM"
            key, _, default = rest.partition("=")
            global_args[key] = default
        else:
            stages[-1].instructions.append((instruction, rest.strip()))
    return global_args, stages


ARGS, STAGES = _parse_dockerfile()
FINAL = STAGES[-1]


def _exec_form(text: str) -> list[str]:
    parsed = json.loads(text)
    assert isinstance(parsed, list), f"use the exec form (JSON array): {text}"
    return [str(p) for p in parsed]


def _build_copy_sources() -> list[str]:
    """Paths the build stage copies from the build context."""
    sources: list[str] = []
    for rest in STAGES[0].args("COPY"):
        words = [w for w in shlex.split(rest) if not w.startswith("--")]
        sources.extend(words[:-1])
    return sources


# --- static checks --------------------------------------------------------------------------


def test_multi_stage_on_a_pinned_slim_python() -> None:
    assert len(STAGES) >= 2
    for stage in STAGES:
        # A full version and variant, not a floating `python:3.11-slim` or `latest`.
        assert re.fullmatch(r"python:3\.11\.\d+-slim-(bookworm|trixie)", stage.image), stage.image
    assert len({s.image for s in STAGES}) == 1, "the venv moves between identical bases"
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    assert requires == ">=3.11"


def test_final_stage_has_no_compilers_and_no_sources() -> None:
    for instruction, args in FINAL.instructions:
        assert not COMPILERS.search(args), f"{instruction} {args}"
        if instruction == "RUN":
            assert "apt-get install" not in args and "pip install" not in args
    copies = FINAL.args("COPY")
    assert copies and all(c.startswith(f"--from={STAGES[0].name} ") for c in copies), copies
    # The build stage builds only from wheels: a missing wheel fails instead of compiling.
    build_runs = " ".join(STAGES[0].args("RUN"))
    assert "--only-binary=:all:" in build_runs
    assert not COMPILERS.search(build_runs)


def test_runs_as_a_numeric_non_root_user_matching_the_chart() -> None:
    (user,) = FINAL.args("USER")
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and gid.isdigit() and int(uid) > 0 and int(gid) > 0
    security = yaml.safe_load(CHART_VALUES.read_text())["podSecurityContext"]
    assert (security["runAsUser"], security["runAsGroup"]) == (int(uid), int(gid))
    created = " ".join(FINAL.args("RUN"))
    assert f"--uid {uid}" in created and f"--gid {gid}" in created
    assert f"chown {uid}:{gid} /var/lib/smsgateway" in created


def test_exposes_the_service_ports() -> None:
    (expose,) = FINAL.args("EXPOSE")
    ports = {int(p) for p in expose.split()}
    defaults = Settings()
    assert ports == {defaults.grpc_port, defaults.http_port, defaults.metrics_port}
    assert ports == {50051, 8080, 9090}
    chart_ports = yaml.safe_load(CHART_VALUES.read_text())["containerPorts"]
    assert set(chart_ports.values()) == ports


def test_entrypoint_is_smsgateway_serve() -> None:
    (entrypoint,) = FINAL.args("ENTRYPOINT")
    (cmd,) = FINAL.args("CMD")
    assert _exec_form(entrypoint) + _exec_form(cmd) == ["smsgateway", "serve"]
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["smsgateway"] == "smsgateway.cli:main"
    env = " ".join(FINAL.args("ENV"))
    assert "SMSGW_DATA_DIR=/var/lib/smsgateway" in env
    assert "PATH=/opt/smsgateway/bin:" in env


def test_dockerignore_sends_only_what_the_build_copies() -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*", "exclude everything, then re-include"
    included = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    assert included == {s.rstrip("/") for s in _build_copy_sources()}
    for source in included:
        assert (REPO / source).exists(), source


# --- the wheel the image installs -----------------------------------------------------------


def _build_wheel(tmp_path: Path) -> tuple[Path, Path]:
    """Build the server's and the API package's wheels from a context holding only what
    the Dockerfile copies."""
    context = tmp_path / "context"
    for source in _build_copy_sources():
        src = REPO / source
        if src.is_dir():
            shutil.copytree(
                src,
                context / source,
                ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"),
            )
        else:
            (context / source).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, context / source)
    wheels = tmp_path / "wheels"
    # No build isolation: the project venv already has setuptools and hatchling, and CI need
    # not reach an index for them (the image build does, with isolation).
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(wheels),
            str(context),
            str(context / "clients" / "python" / "api"),
        ],
        check=True,
        timeout=300,
    )
    (server,) = wheels.glob("smsgateway-*.whl")
    (api,) = wheels.glob("smsgateway_api-*.whl")
    return server, api


def _install(wheels: tuple[Path, ...], venv: Path) -> Path:
    """A fresh venv with the wheel; dependencies are borrowed from the project venv via a .pth
    (appended after the venv's own site-packages, so the wheel's code wins over the editable
    install, whose own .pth hook is not run)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            *map(str, wheels),
        ],
        check=True,
        timeout=300,
    )
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(purelib, "zz_project_deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    return venv / "bin"


def _output(command: list[str]) -> str:
    """Run a command to completion; its stdout (a failure shows its stderr)."""
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


async def _health(target: str) -> int:
    async with grpc.aio.insecure_channel(target) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=""), timeout=5
        )
    return int(reply.status)


@pytest.mark.slow
async def test_the_image_command_runs_from_the_built_wheel(tmp_path: Path) -> None:
    server, api = await asyncio.to_thread(_build_wheel, tmp_path)
    with zipfile.ZipFile(server) as archive:
        names = set(archive.namelist())
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        assert "smsgateway = smsgateway.cli:main" in archive.read(entry_points).decode()
    with zipfile.ZipFile(api) as archive:
        api_names = set(archive.namelist())
    for module in ("smsgateway/cli.py", "smsgateway/app.py", "smsgateway/py.typed"):
        assert module in names, module
    assert "smsgateway/v1/smsgateway_pb2.py" in api_names
    # The server does not ship the generated code, nor the client (smsgateway-client).
    assert not any(n.startswith(("smsgateway/v1/", "smsgateway_client/")) for n in names)
    assert not any("tests/" in n or n.endswith(".pyc") for n in names | api_names)

    bin_dir = await asyncio.to_thread(_install, (server, api), tmp_path / "venv")
    where = await asyncio.to_thread(
        _output, [str(bin_dir / "python"), "-c", "import smsgateway; print(smsgateway.__file__)"]
    )
    assert where.startswith(str(tmp_path / "venv")), where  # the wheel, not the source tree
    helped = await asyncio.to_thread(_output, [str(bin_dir / "smsgateway"), "--help"])
    assert "serve" in helped

    # `smsgateway serve` as the image runs it (sandbox provider, data dir on a "volume").
    data_dir = tmp_path / "data"
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "PYTHONDONTWRITEBYTECODE": "1",
        "SMSGW_BIND_HOST": "127.0.0.1",
        "SMSGW_GRPC_PORT": "0",
        "SMSGW_HTTP_PORT": "0",
        "SMSGW_METRICS_PORT": "0",
        "SMSGW_SANDBOX_PORT": "0",
        "SMSGW_DATA_DIR": str(data_dir),
        "SMSGW_SHUTDOWN_GRACE_SECONDS": "1",
        "SMSGW_BALANCE_REFRESH_SECONDS": "0",
    }
    process = await asyncio.create_subprocess_exec(
        *_exec_form(FINAL.args("ENTRYPOINT")[0]),
        *_exec_form(FINAL.args("CMD")[0]),
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    seen: list[str] = []
    try:
        port = None
        async with asyncio.timeout(60):
            while port is None:
                line = (await process.stderr.readline()).decode()
                assert line, f"exited early: {''.join(seen)}"
                seen.append(line)
                match = re.search(r"gRPC\s+localhost:(\d+)", line)
                port = int(match[1]) if match else None
        assert await _health(f"127.0.0.1:{port}") == health_pb2.HealthCheckResponse.SERVING
        assert any(data_dir.iterdir()), "the store lives in SMSGW_DATA_DIR"
        process.send_signal(signal.SIGTERM)
        rest, _ = await asyncio.wait_for(process.communicate(), timeout=30)
        assert process.returncode == 0, "".join(seen) + rest.decode()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert os.listdir(data_dir)
