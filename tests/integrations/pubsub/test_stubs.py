"""The committed Pub/Sub modules are exactly what the proto generates, so CI fails when the proto
(or the generator) changes without ``python -m salesforce_pubsub.generate``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import salesforce_pubsub
from salesforce_pubsub import generate, pubsub_api_pb2, pubsub_api_pb2_grpc

PACKAGE_DIR = Path(salesforce_pubsub.__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent


def test_regenerating_into_a_temporary_folder_gives_exactly_the_committed_modules(tmp_path: Path) -> None:
    # When the stubs are generated afresh from the proto
    written = generate.generate(tmp_path)

    # Then they are byte for byte the committed ones
    assert sorted(path.name for path in written) == ["pubsub_api_pb2.py", "pubsub_api_pb2_grpc.py"]
    for path in written:
        assert path.read_bytes() == (PACKAGE_DIR / path.name).read_bytes(), (
            f"salesforce_pubsub/{path.name} is out of date: run python -m salesforce_pubsub.generate"
        )


def test_the_check_command_reports_the_committed_modules_current() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "salesforce_pubsub.generate", "--check"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "The generated Pub/Sub modules match the proto."


def test_the_committed_modules_describe_the_pubsub_service_and_import_by_package_path() -> None:
    service = pubsub_api_pb2.DESCRIPTOR.services_by_name["PubSub"]

    assert service.full_name == "eventbus.v1.PubSub"
    assert sorted(method.name for method in service.methods) == [
        "GetSchema",
        "GetTopic",
        "ManagedSubscribe",
        "Publish",
        "PublishStream",
        "Subscribe",
    ]
    assert hasattr(pubsub_api_pb2_grpc, "PubSubStub")
    assert "from salesforce_pubsub import pubsub_api_pb2" in Path(pubsub_api_pb2_grpc.__file__).read_text()
