"""Regenerate the committed protobuf/gRPC modules from ``pubsub_api.proto``.

    python -m salesforce_pubsub.generate            # rewrite pubsub_api_pb2.py and pubsub_api_pb2_grpc.py
    python -m salesforce_pubsub.generate --check    # exit 1 if they differ from what the proto gives

Run it after changing the proto or upgrading ``grpcio-tools`` (the generated code records the
generator's version and refuses to run on an older ``grpcio``/``protobuf``), and commit the result.
The stubs are generated at build time and committed, never at run time: a read-only install
image works, and several processes starting at once need no lock. A test
(``tests/integrations/pubsub/test_stubs.py``) regenerates into a temporary folder and fails when
the committed files differ, so a proto change without regeneration cannot pass CI.

The proto is compiled under its package path (``salesforce_pubsub/pubsub_api.proto``), so the
generated ``_pb2_grpc`` module imports ``salesforce_pubsub.pubsub_api_pb2`` by its full name.
Needs only ``grpcio-tools``; nothing here imports Django or the portal.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PACKAGE = PACKAGE_DIR.name
PROTO_FILE = PACKAGE_DIR / "pubsub_api.proto"
GENERATED_MODULES = ("pubsub_api_pb2.py", "pubsub_api_pb2_grpc.py")


class StubGenerationError(RuntimeError):
    """``protoc`` failed; the proto or the installed ``grpcio-tools`` is broken."""


def generate(output_dir: Path) -> list[Path]:
    """Compile the proto into ``output_dir`` (created if needed); returns the generated files."""
    from grpc_tools import protoc  # Only generation needs the compiler.

    output_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pubsub-stubs-") as scratch:
        source_root = Path(scratch) / "src"
        output_root = Path(scratch) / "out"
        (source_root / PACKAGE).mkdir(parents=True)
        (output_root / PACKAGE).mkdir(parents=True)
        shutil.copyfile(PROTO_FILE, source_root / PACKAGE / PROTO_FILE.name)
        status = protoc.main(
            [
                "grpc_tools.protoc",
                f"--proto_path={source_root}",
                f"--python_out={output_root}",
                f"--grpc_python_out={output_root}",
                f"{PACKAGE}/{PROTO_FILE.name}",
            ]
        )
        if status != 0:
            raise StubGenerationError(f"protoc exited with status {status} for {PROTO_FILE}")
        written = []
        for name in GENERATED_MODULES:
            target = output_dir / name
            shutil.copyfile(output_root / PACKAGE / name, target)
            written.append(target)
    return written


def stale_modules(package_dir: Path = PACKAGE_DIR) -> list[str]:
    """The committed generated modules that differ from a fresh generation (or are missing)."""
    with tempfile.TemporaryDirectory(prefix="pubsub-stubs-check-") as scratch:
        fresh = Path(scratch)
        generate(fresh)
        return [
            name
            for name in GENERATED_MODULES
            if not (package_dir / name).is_file()
            or (package_dir / name).read_bytes() != (fresh / name).read_bytes()
        ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m salesforce_pubsub.generate", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--check", action="store_true", help="only report whether the committed modules are current"
    )
    options = parser.parse_args(argv)
    if options.check:
        stale = stale_modules()
        if stale:
            print(
                f"Out of date: {', '.join(stale)}; run python -m salesforce_pubsub.generate", file=sys.stderr
            )
            return 1
        print("The generated Pub/Sub modules match the proto.")
        return 0
    for path in generate(PACKAGE_DIR):
        print(f"wrote {path.relative_to(PACKAGE_DIR.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
