"""Generate the Python code for proto/ into server/smsgateway/v1 (never edit it by hand).

Usage: python scripts/gen_proto.py [--check]
With --check, generate into a temporary directory and exit 1 when the committed
code differs from what the proto files produce.
"""

from __future__ import annotations

import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"
PACKAGE = Path("smsgateway/v1")
TARGET = ROOT / "clients" / "python" / "api" / PACKAGE
INIT = '"""Generated from proto/smsgateway/v1 by `make proto`. Do not edit."""\n'


def generate(out_root: Path) -> Path:
    protos = sorted(str(p.relative_to(PROTO_DIR)) for p in (PROTO_DIR / PACKAGE).glob("*.proto"))
    include = Path(protoc.__file__).parent / "_proto"
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_DIR}",
        f"-I{include}",
        f"--python_out={out_root}",
        f"--pyi_out={out_root}",
        f"--grpc_python_out={out_root}",
        *protos,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    out = out_root / PACKAGE
    (out / "__init__.py").write_text(INIT)
    (out / "py.typed").write_text("")
    return out


def main() -> int:
    if "--check" in sys.argv[1:]:
        with tempfile.TemporaryDirectory() as tmp:
            fresh = generate(Path(tmp))
            cmp = filecmp.dircmp(fresh, TARGET, ignore=["__pycache__"])
            drift = cmp.left_only + cmp.right_only + cmp.diff_files
            if drift:
                print(f"generated code drifted from proto/: {sorted(drift)}; run `make proto`")
                return 1
            print("generated code matches proto/")
            return 0
    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate(Path(tmp))
        shutil.rmtree(TARGET, ignore_errors=True)
        shutil.copytree(fresh, TARGET)
    print(f"generated {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
