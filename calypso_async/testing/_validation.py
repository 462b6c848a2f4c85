"""Request validation driven by the vendored spec (``calypso_async/_spec/openapi.json``), for every operation.

Why generic: the fake server must reject what the real service would reject (missing fields, wrong types,
float-mangled amounts) for all 55 operations, and the spec already says what each request looks like. Walking
the spec ($ref, allOf, oneOf, x-exactly-one-of, x-decimal) keeps the fake in step with it: fix the spec, the
fake follows. Unknown extra fields are accepted (the reference's robustness principle).

Amount exactness needs the number *text* as sent (``1e-18`` and ``0.000000000000000001`` are the same
``Decimal``), so bodies are decoded a second time here with every non-integer number kept as :class:`RawNumber`.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

import attrs

__all__ = ["MAX_DECIMAL_PLACES", "OperationSpec", "RawNumber", "Validator", "decode_raw", "load_spec", "operations"]

MAX_DECIMAL_PLACES = 18
"""More fractional digits than any currency scale (ETH has 18): the tell-tale of a float that leaked into JSON."""


class RawNumber:
    """A non-integer JSON number kept exactly as written (``parse_float`` hook)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"RawNumber({self.text!r})"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid JSON number {name!r}")


_raw_decoder = json.JSONDecoder(parse_float=RawNumber, parse_constant=_reject_constant)


def decode_raw(body: bytes) -> Any:
    """Decode JSON keeping non-integer numbers as :class:`RawNumber`; raises ``ValueError`` when not JSON."""
    return _raw_decoder.decode(body.decode("utf-8"))


@lru_cache(maxsize=1)
def load_spec() -> dict[str, Any]:
    """The vendored OpenAPI document (read once per process)."""
    text = resources.files("calypso_async").joinpath("_spec").joinpath("openapi.json").read_text(encoding="utf-8")
    spec: dict[str, Any] = json.loads(text)
    return spec


@attrs.frozen
class OperationSpec:
    """What the fake needs to know about one operation, read from the spec."""

    name: str
    method: str
    path: str
    account: bool
    payload: Literal["required", "optional", "none"]
    request_schema: dict[str, Any] | None
    idempotency_field: str | None
    pattern: re.Pattern[str] | None
    """Set for templated paths (``/api/v1/c2f/order/{type}/rate``); named groups are the path parameters."""


def _path_pattern(path: str) -> re.Pattern[str] | None:
    if "{" not in path:
        return None
    parts = re.split(r"\{(\w+)\}", path)
    regex = "".join(re.escape(part) if index % 2 == 0 else f"(?P<{part}>[^/]+)" for index, part in enumerate(parts))
    return re.compile(f"^{regex}$")


@lru_cache(maxsize=1)
def operations() -> tuple[OperationSpec, ...]:
    """Every operation of the spec, in document order."""
    found: list[OperationSpec] = []
    for path, item in load_spec()["paths"].items():
        for method, op in item.items():
            if not isinstance(op, dict) or "x-sdk-name" not in op:
                continue
            envelope = op.get("x-envelope", {})
            content = op.get("requestBody", {}).get("content", {})
            media: dict[str, Any] = next(iter(content.values()), {}) if content else {}
            schema = media.get("schema")
            field = op.get("x-idempotency-field")
            found.append(
                OperationSpec(
                    name=op["x-sdk-name"],
                    method=method.upper(),
                    path=path,
                    account=bool(envelope.get("account", True)),
                    payload=envelope.get("payload", "required"),
                    request_schema=schema,
                    idempotency_field=field.split(".")[-1] if field else None,
                    pattern=_path_pattern(path),
                )
            )
    return tuple(found)


class Validator:
    """Checks decoded request values against spec schemas; each check returns a message or ``None``."""

    def __init__(self, spec: dict[str, Any] | None = None) -> None:
        self._schemas: dict[str, Any] = (spec or load_spec())["components"]["schemas"]

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        seen = 0
        while "$ref" in schema:
            schema = self._schemas[schema["$ref"].rsplit("/", 1)[-1]]
            seen += 1
            if seen > 32:
                raise ValueError("reference cycle in spec")
        return schema

    def payload_schema(self, request_schema: dict[str, Any] | None) -> dict[str, Any] | None:
        """The schema of ``payload`` inside an operation's request envelope."""
        if request_schema is None:
            return None
        envelope = self.resolve(request_schema)
        for part in [envelope, *envelope.get("allOf", [])]:
            part = self.resolve(part)
            prop = part.get("properties", {}).get("payload")
            if prop is not None:
                return self.resolve(prop)
        return None

    def check(self, schema: dict[str, Any], value: Any, where: str) -> str | None:
        schema = self.resolve(schema)
        if value is None:
            return None
        for sub in schema.get("allOf", []):
            problem = self.check(sub, value, where)
            if problem:
                return problem
        alternatives = schema.get("oneOf") or schema.get("anyOf")
        if alternatives:
            problems = [self.check(alt, value, where) for alt in alternatives]
            if all(problems):
                return problems[0]
        kind = schema.get("type")
        if kind is None and "properties" in schema:
            kind = "object"
        if kind == "object":
            return self._check_object(schema, value, where)
        if kind == "array":
            if not isinstance(value, list):
                return f"{where} must be an array"
            items = schema.get("items")
            if items:
                for index, item in enumerate(value):
                    problem = self.check(items, item, f"{where}[{index}]")
                    if problem:
                        return problem
            return None
        if kind == "string":
            return None if isinstance(value, str) else f"{where} must be a string"
        if kind == "boolean":
            return None if isinstance(value, bool) else f"{where} must be a boolean"
        if kind == "integer":
            return None if isinstance(value, int) and not isinstance(value, bool) else f"{where} must be an integer"
        if kind == "number":
            return self._check_number(schema, value, where)
        return None

    def _check_object(self, schema: dict[str, Any], value: Any, where: str) -> str | None:
        if not isinstance(value, dict):
            return f"{where} must be an object"
        for name in schema.get("required", []):
            if value.get(name) is None:
                return f"{where}.{name} is required"
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                problem = self.check(sub, value[name], f"{where}.{name}")
                if problem:
                    return problem
        exactly = schema.get("x-exactly-one-of")
        if exactly:
            given = [name for name in exactly if value.get(name) is not None]
            if len(given) != 1:
                names = " and ".join(f"{where}.{name}" for name in exactly)
                return f"send exactly one of {names} (got {len(given)})"
        return None

    @staticmethod
    def _check_number(schema: dict[str, Any], value: Any, where: str) -> str | None:
        if isinstance(value, bool) or not isinstance(value, (int, RawNumber)):
            return f"{where} must be a number"
        if isinstance(value, RawNumber) and schema.get("x-decimal"):
            text = value.text
            if "e" in text or "E" in text:
                return f"{where} must be an exact decimal in plain notation, got exponent form {text}"
            fraction = text.partition(".")[2]
            if len(fraction) > MAX_DECIMAL_PLACES:
                return (
                    f"{where} has {len(fraction)} decimal places (max {MAX_DECIMAL_PLACES}); "
                    f"looks like a float artefact: {text}"
                )
        return None
