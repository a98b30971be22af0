"""Breaking changes between two versions of the committed API schema (``openapi.yaml``).

``python -m portal.schema_changes [--base REF] [FILE]`` compares FILE (default ``openapi.yaml``)
with the version committed at REF (default ``HEAD^``, the commit before this one) and lists what
breaks a client written against the old one: removed operations, removed parameters, parameters
or request fields that became required, removed fields of any schema, removed enum values.
Additions are never breaking. It exits 1 when it finds one, unless a commit after REF says the
break is intended with a line ``API-Breaking: <why>`` in its message. CI runs it (``.ci/run``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ACKNOWLEDGEMENT = "API-Breaking:"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def _operations(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{method.upper()} {path}": operation
        for path, item in (schema.get("paths") or {}).items()
        for method, operation in item.items()
        if method in METHODS
    }


def _enums(name: str, node: Any) -> Iterator[tuple[str, list[Any]]]:
    if isinstance(node, dict):
        if isinstance(node.get("enum"), list):
            yield name, node["enum"]
        for key, value in node.get("properties", {}).items():
            yield from _enums(f"{name}.{key}", value)
        if "items" in node:
            yield from _enums(f"{name}[]", node["items"])


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    changes: list[str] = []
    old_operations, new_operations = _operations(old), _operations(new)
    for name, operation in old_operations.items():
        if name not in new_operations:
            changes.append(f"operation removed: {name}")
            continue
        now = new_operations[name]
        old_parameters = {(p.get("in"), p.get("name")): p for p in operation.get("parameters", [])}
        new_parameters = {(p.get("in"), p.get("name")): p for p in now.get("parameters", [])}
        for key, parameter in new_parameters.items():
            if key not in old_parameters and parameter.get("required"):
                changes.append(f"{name}: new required {key[0]} parameter {key[1]}")
            elif (
                key in old_parameters
                and parameter.get("required")
                and not old_parameters[key].get("required")
            ):
                changes.append(f"{name}: {key[0]} parameter {key[1]} became required")
        for key in old_parameters.keys() - new_parameters.keys():
            if key[0] != "header":  # a header the server stops reading breaks no client
                changes.append(f"{name}: {key[0]} parameter {key[1]} removed")
        for code in operation.get("responses", {}):
            if code.startswith("2") and code not in now.get("responses", {}):
                changes.append(f"{name}: success answer {code} removed")

    old_components = (old.get("components") or {}).get("schemas") or {}
    new_components = (new.get("components") or {}).get("schemas") or {}
    for component, schema in old_components.items():
        if component not in new_components:
            # Renamed or no longer used: what used it shows up as changed fields, if anything.
            continue
        now = new_components[component]
        for field in set(schema.get("properties", {})) - set(now.get("properties", {})):
            changes.append(f"schema {component}: field {field} removed")
        if component.endswith("Request"):
            for field in set(now.get("required", [])) - set(schema.get("required", [])):
                changes.append(f"schema {component}: field {field} became required")
        new_enums = dict(_enums(component, now))
        for enum_name, values in _enums(component, schema):
            removed = [value for value in values if value not in new_enums.get(enum_name, values)]
            if removed:
                changes.append(f"schema {enum_name}: enum values removed: {removed}")
    return sorted(changes)


def _git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=False)  # noqa: S603, S607


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("file", nargs="?", default="openapi.yaml")
    parser.add_argument("--base", default="HEAD^", help="the git revision to compare with (HEAD^)")
    arguments = parser.parse_args(argv)

    committed = _git("show", f"{arguments.base}:{arguments.file}")
    if committed.returncode != 0:
        print(f"schema_changes: no {arguments.file} at {arguments.base}; nothing to compare.")
        return 0
    old = yaml.safe_load(committed.stdout) or {}
    new = yaml.safe_load(Path(arguments.file).read_text(encoding="utf-8")) or {}
    changes = breaking_changes(old, new)
    if not changes:
        print(f"schema_changes: no breaking change since {arguments.base}.")
        return 0
    print(f"schema_changes: breaking changes since {arguments.base}:")
    for change in changes:
        print(f"  - {change}")
    messages = _git("log", "--format=%B", f"{arguments.base}..HEAD").stdout
    if any(line.strip().startswith(ACKNOWLEDGEMENT) for line in messages.splitlines()):
        print(f"schema_changes: acknowledged by an `{ACKNOWLEDGEMENT}` line in a commit message.")
        return 0
    print(
        f"If they are intended, say why in the commit message with a line `{ACKNOWLEDGEMENT} <why>`; "
        "otherwise keep the old fields, values and operations (deprecate them instead)."
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
