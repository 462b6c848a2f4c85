"""The vendored spec read independently of the generator: arguments, sample values and wire forms per operation.

Kept deliberately simple and separate from scripts/codegen/ so that the tests check the generated code
against the spec rather than against the generator's own reading of it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import calypso_async

SPEC_DIR = Path(calypso_async.__file__).parent / "_spec"
SPEC: dict[str, Any] = json.loads((SPEC_DIR / "openapi.json").read_text("utf-8"))
SCHEMAS: dict[str, dict[str, Any]] = SPEC["components"]["schemas"]
NAMING: list[dict[str, Any]] = json.loads((SPEC_DIR / "operations.json").read_text("utf-8"))
SPEC_OPS: dict[str, tuple[str, str, dict[str, Any]]] = {
    op["x-sdk-name"]: (path, method.upper(), op) for path, item in SPEC["paths"].items() for method, op in item.items()
}
SAMPLE_UUID = "3f1c2a9e-8b7d-4c6e-9f01-23456789abcd"
SAMPLE_TIME = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def snake(name: str) -> str:
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()
    return text + "_" if text in ("in", "from") else text


def ref(schema: dict[str, Any]) -> str | None:
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if len(schema.get("allOf", [])) == 1:
        return ref(schema["allOf"][0])
    return None


@dataclass
class Arg:
    name: str
    wire: str
    schema: dict[str, Any]
    required: bool
    kind: str  # str, datetime, decimal, int, bool, strings, codes, model, code_or_model, mapping, any, path
    idempotency: bool = False
    one_of: bool = False

    def sample(self) -> tuple[Any, Any]:
        """(Python value to pass, the wire value expected in the payload)."""
        if self.kind == "path":
            return "CARD", "CARD"
        if self.idempotency or self.one_of:
            return SAMPLE_UUID, SAMPLE_UUID
        if self.kind == "str":
            value = SAMPLE_UUID if self.schema.get("format") == "uuid" else f"s-{self.wire}"
            return value, value
        if self.kind == "datetime":
            return SAMPLE_TIME, "2025-01-02T03:04:05+00:00"
        if self.kind == "decimal":
            return Decimal("12.340"), Decimal("12.340")
        if self.kind == "int":
            return 7, 7
        if self.kind == "bool":
            return True, True
        if self.kind == "strings":
            return ("A", "B"), ["A", "B"]
        if self.kind == "codes":
            return ["USDT_TRX", {"name": "BTC"}], ["USDT_TRX", {"name": "BTC"}]
        if self.kind == "code_or_model":
            code = "+00:00" if self.wire == "zoneOffset" else "USDT_TRX"
            return code, code
        if self.kind == "model":
            return {"equals": "x", "in": ["a"]}, {"equals": "x", "in": ["a"]}
        if self.kind == "mapping":
            return {"k": "v"}, {"k": "v"}
        return "SELL", "SELL"


def kind_of(schema: dict[str, Any]) -> str:
    name = ref(schema)
    if name is not None:
        target = SCHEMAS[name]
        if target.get("type") == "string":
            return "str"
        if "oneOf" in target:
            return "code_or_model"
        if "type" not in target and "properties" not in target:
            return "any"
        return "model"
    if "oneOf" in schema:
        return "code_or_model"
    kind = schema.get("type")
    if kind == "string":
        return "datetime" if schema.get("format") == "date-time" else "str"
    if kind == "number":
        return "decimal"
    if kind == "integer":
        return "int"
    if kind == "boolean":
        return "bool"
    if kind == "array":
        item = kind_of(schema.get("items", {}))
        return {"str": "strings", "code_or_model": "codes"}[item]
    if kind == "object":
        return "mapping"
    return "any"


def payload_schema(sdk_name: str) -> dict[str, Any] | None:
    _path, _method, op = SPEC_OPS[sdk_name]
    if op["x-envelope"]["payload"] == "none":
        return None
    envelope = SCHEMAS[ref(op["requestBody"]["content"]["application/json"]["schema"]) or ""]
    name = ref(envelope["properties"]["payload"])
    return SCHEMAS[name] if name else None


def args_of(sdk_name: str) -> list[Arg]:
    _path, _method, op = SPEC_OPS[sdk_name]
    out = [
        Arg(p["name"], p["name"], p["schema"], True, "path") for p in op.get("parameters", []) if p.get("in") == "path"
    ]
    schema = payload_schema(sdk_name)
    if schema is None:
        return out
    idem = (op.get("x-idempotency-field") or "").removeprefix("payload.")
    one_of = set(schema.get("x-exactly-one-of", []))
    required = set(schema.get("required", []))
    for wire, prop in schema.get("properties", {}).items():
        out.append(
            Arg(
                snake(wire),
                wire,
                prop,
                wire in required and wire != idem and wire not in one_of,
                kind_of(prop),
                idempotency=wire == idem,
                one_of=wire in one_of,
            )
        )
    return out


def full_call(sdk_name: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """(kwargs with every argument, expected wire payload, expected path params)."""
    kwargs: dict[str, Any] = {}
    payload: dict[str, Any] = {}
    path: dict[str, str] = {}
    seen_one_of = False
    for arg in args_of(sdk_name):
        if arg.one_of:
            if seen_one_of:
                continue
            seen_one_of = True
        value, wire = arg.sample()
        kwargs[arg.name] = value
        if arg.kind == "path":
            path[arg.wire] = wire
        else:
            payload[arg.wire] = wire
    return kwargs, payload, path


def minimal_call(sdk_name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(kwargs with the required arguments only, expected payload without the generated key)."""
    kwargs: dict[str, Any] = {}
    payload: dict[str, Any] = {}
    args = args_of(sdk_name)
    one_of = [a for a in args if a.one_of]
    for arg in args:
        if arg.required or (one_of and arg is one_of[0]):
            value, wire = arg.sample()
            kwargs[arg.name] = value
            if arg.kind != "path":
                payload[arg.wire] = wire
    return kwargs, payload


def sample_wire(schema: dict[str, Any], depth: int = 0) -> Any:
    """A wire value for ``schema`` with every field present (depth-limited), for canned answers."""
    name = ref(schema)
    if name is not None:
        return sample_wire(SCHEMAS[name], depth)
    if "oneOf" in schema:
        return sample_wire(schema["oneOf"][-1], depth)
    kind = schema.get("type")
    if kind == "string":
        if schema.get("x-known-values"):
            return schema["x-known-values"][0]
        if schema.get("format") == "date-time":
            return "2025-01-02T03:04:05+00:00"
        return "text"
    if kind == "number":
        return Decimal("1.230")
    if kind == "integer":
        return 3
    if kind == "boolean":
        return False
    if kind == "array":
        return [] if depth > 3 else [sample_wire(schema.get("items", {}), depth + 1)]
    if kind == "object" or "properties" in schema:
        if depth > 4:
            return {}
        props = schema.get("properties")
        if props:
            return {wire: sample_wire(prop, depth + 1) for wire, prop in props.items()}
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and extra:
            return {"KEY": sample_wire(extra, depth + 1)}
        return {"anything": [1, "two"]}
    return {"raw": [1, "two"]}
