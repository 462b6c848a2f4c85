"""Every operation of operations.json is a method of AsyncCalypso, and its metadata matches the spec."""

from __future__ import annotations

import functools
import inspect
import json
from pathlib import Path
from typing import Any

import pytest

import calypso_async
import calypso_async.resources
from calypso_async import AsyncCalypso
from calypso_async._model import Model
from calypso_async.resources import OPERATIONS

from ._stub import RecordingTransport, client

SPEC_DIR = Path(calypso_async.__file__).parent / "_spec"
NAMING: list[dict[str, Any]] = json.loads((SPEC_DIR / "operations.json").read_text("utf-8"))
SPEC: dict[str, Any] = json.loads((SPEC_DIR / "openapi.json").read_text("utf-8"))
BY_SDK_NAME = {
    op["x-sdk-name"]: (path, method, op) for path, item in SPEC["paths"].items() for method, op in item.items()
}


def ids(entry: dict[str, Any]) -> str:
    return f"{entry['resource']}.{entry['method_name']}"


def resource_class(resource: str) -> type:
    prop = vars(AsyncCalypso)[resource]
    assert isinstance(prop, functools.cached_property)
    cls = getattr(calypso_async.resources, prop.func.__annotations__["return"])
    assert inspect.isclass(cls)
    return cls


def test_55_operations() -> None:
    assert len(NAMING) == 55
    assert list(OPERATIONS) == [ids(e) for e in NAMING]


@pytest.mark.parametrize("entry", NAMING, ids=ids)
def test_method_exists_on_async_client(entry: dict[str, Any]) -> None:
    resource_cls = resource_class(entry["resource"])
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
    assert entry["confidence"] == spec_op["x-confidence"]
    assert op.blind_retry is not (
        bool(spec_op.get("x-no-blind-retry")) or (op.money_moving and op.idempotency_field is None)
    )
    lookup = spec_op.get("x-idempotent-lookup")
    if lookup is None:
        assert op.lookup is None
    else:
        assert op.lookup is not None and op.lookup.operation is OPERATIONS[lookup["operation"]]
        assert (op.lookup.field, op.lookup.in_list) == (lookup["field"], lookup.get("inList"))
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


def test_retry_facts_come_from_the_spec() -> None:
    lookups = {name for name, op in OPERATIONS.items() if op.lookup is not None}
    assert all(OPERATIONS[name].idempotency_field is not None for name in lookups)
    assert len(lookups) == 9  # every keyed create except fiat_deposits.generate_key
    no_blind = {name for name, op in OPERATIONS.items() if not op.blind_retry}
    assert no_blind == {"exchanges.create", "customer_purse.create_customer"}


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
        cls = resource_class(resource)
        twin = getattr(cls, "iter_" + method.removeprefix("find_"))
        assert inspect.isasyncgenfunction(twin), name
