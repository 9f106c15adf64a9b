"""Generate every language's code from proto/ (never edit the output by hand).

Usage: python scripts/gen_proto.py [--check]

Runs `buf generate` with buf.gen.yaml (Go, TypeScript, Python) and with
clients/node/buf.gen.yaml (the google.rpc detail types for TypeScript), adds the
Python package markers, and copies clients/service_config.json into the packages
that embed it. Java is generated at build time by clients/java/pom.xml.

With --check, generate into a temporary directory and exit 1 when anything committed
differs from what the proto files produce (missing, extra or changed files).
"""

from __future__ import annotations

import filecmp
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUF = ROOT / "node_modules" / ".bin" / "buf"
TEMPLATES = ("buf.gen.yaml", "clients/node/buf.gen.yaml")
PYTHON_PACKAGE = Path("clients/python/api/smsgateway/v1")
INIT = '"""Generated from proto/smsgateway/v1 by `make proto`. Do not edit."""\n'
SERVICE_CONFIG = Path("clients/service_config.json")

# What this script owns: whole directories, and single files.
GENERATED_DIRS = (
    Path("clients/go/gen"),
    Path("clients/node/src/gen"),
    PYTHON_PACKAGE,
)
GENERATED_FILES = (
    Path("clients/go/service_config.json"),
    Path("clients/node/service_config.json"),
    Path("clients/python/smsgateway_client/service_config.json"),
)
_IGNORED = ("__pycache__",)


def generate(out_root: Path) -> None:
    """Write every generated file under `out_root`, laid out as in the repository."""
    for template in TEMPLATES:
        done = subprocess.run(
            [str(BUF), "generate", "--template", template, "-o", str(out_root)],
            cwd=ROOT,
            check=False,
            timeout=300,
        )
        if done.returncode != 0:
            raise SystemExit(f"buf generate --template {template} failed")
    package = out_root / PYTHON_PACKAGE
    (package / "__init__.py").write_text(INIT)
    (package / "py.typed").write_text("")
    for copy in GENERATED_FILES:
        (out_root / copy).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / SERVICE_CONFIG, out_root / copy)


def _drift(fresh: Path, committed: Path) -> list[str]:
    """Paths (relative to `committed`) that are missing, extra or different."""
    if not committed.is_dir():
        return ["(missing directory)"]
    found: list[str] = []

    def walk(cmp: filecmp.dircmp[str], prefix: str) -> None:
        found.extend(prefix + name for name in cmp.left_only + cmp.right_only)
        found.extend(prefix + name for name in cmp.diff_files + cmp.funny_files)
        for name, sub in cmp.subdirs.items():
            walk(sub, f"{prefix}{name}/")

    walk(filecmp.dircmp(fresh, committed, ignore=list(_IGNORED)), "")
    return sorted(found)


def check() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp)
        generate(fresh)
        drift: list[str] = []
        for directory in GENERATED_DIRS:
            drift += [f"{directory}/{p}" for p in _drift(fresh / directory, ROOT / directory)]
        for file in GENERATED_FILES:
            committed = ROOT / file
            if not committed.is_file() or not filecmp.cmp(fresh / file, committed, shallow=False):
                drift.append(str(file))
    if drift:
        print("generated code drifted from proto/ (run `make proto`):")
        for path in drift:
            print(f"  {path}")
        return 1
    print("generated code matches proto/ (Go, TypeScript, Python, service configs)")
    return 0


def write() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp)
        generate(fresh)
        for directory in GENERATED_DIRS:
            shutil.rmtree(ROOT / directory, ignore_errors=True)
            shutil.copytree(fresh / directory, ROOT / directory)
        for file in GENERATED_FILES:
            shutil.copyfile(fresh / file, ROOT / file)
    for path in (*GENERATED_DIRS, *GENERATED_FILES):
        print(f"generated {path}")
    return 0


def main() -> int:
    return check() if "--check" in sys.argv[1:] else write()


if __name__ == "__main__":
    raise SystemExit(main())
