"""The proto stubs are generated on first use, from a clean state, safely under concurrency."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from apps.integrations.salesforce.pubsub import stubs

REPO_ROOT = Path(__file__).resolve().parents[3]

# Run in a fresh interpreter: the generated messages (eventbus.v1.*) are already registered in
# this process's descriptor pool by the real stubs.
GENERATE_AND_IMPORT = """
import importlib, sys
from pathlib import Path
from apps.integrations.salesforce.pubsub import stubs

target = Path(sys.argv[1])
generated = stubs.ensure_generated(target / "_generated", "stubcheck._generated")
sys.path.insert(0, str(target.parent))
grpc_module = importlib.import_module("stubcheck._generated.pubsub_api_pb2_grpc")
pb2 = importlib.import_module("stubcheck._generated.pubsub_api_pb2")
service = pb2.DESCRIPTOR.services_by_name["PubSub"]
print(generated, service.full_name, sorted(m.name for m in service.methods), hasattr(grpc_module, "PubSubStub"))
"""


def _run_generator(target: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", GENERATE_AND_IMPORT, str(target)],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_stubs_generate_from_a_clean_state_and_import_by_package_path(tmp_path: Path) -> None:
    # Given an empty package folder
    target = tmp_path / "stubcheck"
    target.mkdir()
    (target / "__init__.py").write_text("")

    # When a process needs the stubs
    process = _run_generator(target)
    stdout, stderr = process.communicate(timeout=60)

    # Then they are generated, import each other by package path, and describe eventbus.v1.PubSub
    assert process.returncode == 0, stderr
    assert stdout.strip() == (
        "True eventbus.v1.PubSub "
        "['GetSchema', 'GetTopic', 'ManagedSubscribe', 'Publish', 'PublishStream', 'Subscribe'] True"
    )
    assert stubs.is_current(target / "_generated")
    assert sorted(path.name for path in (target / "_generated").iterdir()) == [
        ".lock",
        ".proto.sha256",
        "__init__.py",
        "pubsub_api_pb2.py",
        "pubsub_api_pb2_grpc.py",
    ]


def test_concurrent_processes_generate_once_and_all_succeed(tmp_path: Path) -> None:
    # Given an empty package folder
    target = tmp_path / "stubcheck"
    target.mkdir()
    (target / "__init__.py").write_text("")

    # When four processes start at once
    processes = [_run_generator(target) for _ in range(4)]
    results = [process.communicate(timeout=60) for process in processes]

    # Then every one imports the stubs, and exactly one generated them
    assert [process.returncode for process in processes] == [0, 0, 0, 0], [err for _, err in results]
    assert sorted(out.split()[0] for out, _ in results) == ["False", "False", "False", "True"]


def test_a_changed_hash_marks_the_stubs_stale(tmp_path: Path) -> None:
    # Given current stubs
    generated = tmp_path / "stubcheck" / "_generated"
    stubs.ensure_generated(generated, "stubcheck._generated")
    assert stubs.is_current(generated)

    # When the recorded hash no longer matches the proto
    (generated / ".proto.sha256").write_text("0" * 64 + "\n")

    # Then they are stale and the next use regenerates them
    assert not stubs.is_current(generated)
    assert stubs.ensure_generated(generated, "stubcheck._generated") is True
    assert stubs.is_current(generated)
