"""Every operation of operations.json is a method of AsyncCalypso, and its metadata matches the spec."""

from __future__ import annotations

import inspect
import json
import typing
from pathlib import Path
from typing import Any

import pytest

import calypso_async
from calypso_async import AsyncCalypso
from calypso_async._model import Model
from calypso_async._operation import IDEMPOTENT_LOOKUP, NO_BLIND_RETRY
from calypso_async.resources import OPERATIONS, AsyncResources
from calypso_async.testing import MockTransport as RecordingTransport

from ..conftest import client

SPEC_DIR = Path(calypso_async.__file__).parent / "_spec"
NAMING: list[dict[str, Any]] = json.loads((SPEC_DIR / "operations.json").read_text("utf-8"))
SPEC: dict[str, Any] = json.loads((SPEC_DIR / "openapi.json").read_text("utf-8"))
BY_SDK_NAME = {
    op["x-sdk-name"]: (path, method, op) for path, item in SPEC["paths"].items() for method, op in item.items()
}


def ids(entry: dict[str, Any]) -> str:
    return f"{entry['resource']}.{entry['method_name']}"


def test_55_operations() -> None:
    assert len(NAMING) == 55
    assert list(OPERATIONS) == [ids(e) for e in NAMING]


@pytest.mark.parametrize("entry", NAMING, ids=ids)
def test_method_exists_on_async_client(entry: dict[str, Any]) -> None:
    resource_cls = typing.get_type_hints(AsyncResources)[entry["resource"]]
    method = getattr(resource_cls, entry["method_name"], None)
    assert method is not None, f"AsyncCalypso.{entry['resource']} has no {entry['method_name']}"
    assert inspect.iscoroutinefunction(method)
    params = inspect.signature(method).parameters
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for name, p in params.items() if name != "self")
    assert "timeout" in params and "max_retries" in params
    _path, _method, op = BY_SDK_NAME[ids(entry)]
    assert ("account" in params) == op["x-envelope"]["account"]

    instance = client(RecordingTransport())
    bound = getattr(getattr(instance, entry["resource"]), entry["method_name"])
    assert inspect.ismethod(bound)


@pytest.mark.parametrize("entry", NAMING, ids=ids)
def test_operation_metadata_matches_spec(entry: dict[str, Any]) -> None:
    op = OPERATIONS[ids(entry)]
    path, method, spec_op = BY_SDK_NAME[ids(entry)]
    assert op.name == ids(entry)
    assert op.path == entry["path"] == path
    assert op.method == entry["method"] == method.upper()
    assert op.confidence == entry["confidence"] == spec_op["x-confidence"]
    assert op.account is spec_op["x-envelope"]["account"]
    assert op.payload == spec_op["x-envelope"]["payload"]
    field = spec_op.get("x-idempotency-field")
    assert op.idempotency_field == (field.removeprefix("payload.") if field else None)
    assert op.money_moving is bool(spec_op.get("x-money-moving"))
    content = spec_op["responses"]["200"].get("content")
    ref = content["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1] if content else None
    if ref is None or ref == "UndocumentedResponse":
        assert op.response is None
    else:
        assert isinstance(op.response, type) and issubclass(op.response, Model)
        assert op.response.__name__ == ref


def test_lookup_tables_name_real_operations() -> None:
    for create, lookup in IDEMPOTENT_LOOKUP.items():
        assert create in OPERATIONS and lookup.operation in OPERATIONS
        assert OPERATIONS[create].idempotency_field is not None
    assert NO_BLIND_RETRY <= set(OPERATIONS)


def test_client_has_every_resource() -> None:
    instance: AsyncCalypso = client(RecordingTransport())
    for resource in {e["resource"] for e in NAMING}:
        assert getattr(instance, resource).__class__.__name__.startswith("Async")


def test_paging_twins_are_async_generators() -> None:
    for name, path_item in BY_SDK_NAME.items():
        spec_op = path_item[2]
        if "x-pagination" not in spec_op:
            continue
        resource, method = name.split(".")
        cls = typing.get_type_hints(AsyncResources)[resource]
        twin = getattr(cls, "iter_" + method.removeprefix("find_"))
        assert inspect.isasyncgenfunction(twin), name
