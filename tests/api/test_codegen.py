"""The code generator layer by layer: text helpers, the parsers (spec and engine) and each emitter."""

from __future__ import annotations

import ast
import copy
import json
from pathlib import Path
from typing import Any

import pytest

from calypso_async._base_client import AsyncAPIClient
from scripts.codegen import emit_client, emit_coverage, emit_events, emit_models, emit_resources, emit_sync
from scripts.codegen.describe import API, SPEC_DIR, load
from scripts.codegen.engine import EngineError, read_engine
from scripts.codegen.fmt import MARKER
from scripts.codegen.text import camel, const_name, docstring, snake, wrap


@pytest.fixture(scope="module")
def api() -> API:
    return load()


def _read(name: str) -> Any:
    return json.loads((SPEC_DIR / name).read_text("utf-8"))


def _parses(text: str) -> ast.Module:
    return ast.parse(text)  # every emitted Python file is valid Python before formatting


# ----------------------------------------------------------------------------------------------- text


@pytest.mark.parametrize(
    "wire,name",
    [("depositAddress", "deposit_address"), ("txID", "tx_id"), ("USDTAmount", "usdt_amount"), ("in", "in_")],
)
def test_snake_case_of_wire_names(wire: str, name: str) -> None:
    assert snake(wire) == name


def test_extra_is_escaped_because_models_keep_unknown_fields_there() -> None:
    assert snake("extra") == "extra_"


def test_camel_and_constant_names() -> None:
    assert camel("payment_widgets") == "PaymentWidgets"
    assert const_name("payouts.get") == "PAYOUTS_GET"
    assert const_name("3DS") == "V_3DS"


def test_wrap_and_docstring_respect_the_width() -> None:
    text = " ".join(["word"] * 80)
    assert all(len(line) + 8 <= 116 for line in wrap(text, 8))
    doc = docstring([text, ["verbatim  line"]], 4)
    assert doc.startswith('    """') and doc.endswith('"""') and "verbatim  line" in doc
    assert docstring(["short"], 0) == '"""short"""'


def test_docstring_escapes_quotes_and_backslashes() -> None:
    doc = docstring(['a """quoted""" \\ thing'], 0)
    assert ast.literal_eval(doc) == 'a """quoted""" \\ thing'


# ------------------------------------------------------------------------------------------- parsers


def test_parser_describes_every_operation_resource_and_event(api: API) -> None:
    assert [op.sdk_name for op in api.ops] == [f"{e['resource']}.{e['method_name']}" for e in _read("operations.json")]
    assert len(api.resources) == 17 and sum(len(r.ops) for r in api.resources) == 55
    assert len(api.events) == len(_read("events.json"))
    assert api.models and api.enums


def test_parser_reads_retry_facts_from_the_spec(api: API) -> None:
    by_name = {op.sdk_name: op for op in api.ops}
    assert by_name["payouts.create"].lookup == {"operation": "payouts.get", "field": "idempotencyKey"}
    assert by_name["webhooks.create"].lookup == {
        "operation": "webhooks.list",
        "field": "requestId",
        "inList": "subscriptions",
    }
    assert not by_name["exchanges.create"].blind_retry and not by_name["customer_purse.create_customer"].blind_retry
    assert by_name["payouts.create"].blind_retry  # keyed: retried with the same key


def test_a_spec_edit_is_all_it_takes_to_change_a_retry_fact() -> None:
    spec = _read("openapi.json")
    for item in spec["paths"].values():
        for op in item.values():
            if op["x-sdk-name"] == "invoices.get":
                op["x-no-blind-retry"] = True
    edited = API(spec, _read("operations.json"))
    op = next(o for o in edited.ops if o.sdk_name == "invoices.get")
    assert not op.blind_retry
    assert "blind_retry=False" in emit_resources.operation_constant(op, {o.sdk_name: o for o in edited.ops})[0]


def test_paged_operations_know_their_item_model(api: API) -> None:
    paged = [op for op in api.ops if op.pagination]
    assert paged and all(op.item_model in api.models for op in paged)


def test_engine_parser_keeps_default_names_and_leaves_out_loop_bound_arguments() -> None:
    engine = read_engine()
    init = {p.name: p for p in engine.init}
    assert init["timeout"].default == "DEFAULT_TIMEOUT"
    assert init["max_response_bytes"].default == "DEFAULT_MAX_RESPONSE_BYTES"
    assert "session" not in init and "transport" not in init
    assert engine.imports["DEFAULT_TIMEOUT"] == ("calypso_async._config", "DEFAULT_TIMEOUT")
    assert [m.name for m in engine.methods] == ["request"]


# ------------------------------------------------------------------------------------------ emitters


def test_models_emitter_writes_every_model_once(api: API) -> None:
    files = emit_models.emit(api)
    classes = [
        node.name
        for path, text in files.items()
        if path.name != "__init__.py"
        for node in _parses(text).body
        if isinstance(node, ast.ClassDef)
    ]
    assert sorted(c for c in classes if c in api.models) == sorted(api.models)
    assert all(text.startswith(MARKER) for text in files.values())


def test_resources_emitter_writes_one_return_per_method(api: API) -> None:
    files = emit_resources.emit(api)
    text = files[emit_resources.RESOURCES_DIR / "payouts.py"]
    assert "lookup=Lookup(PAYOUTS_GET, " in text
    assert "PAYOUTS_CREATE: Operation[PublicDealResponseDTO]" in text
    assert "confidence" not in text
    tree = _parses(text)
    methods = [n for n in ast.walk(tree) if isinstance(n, ast.AsyncFunctionDef)]
    assert methods and all(isinstance(m.body[-1], ast.Return) for m in methods)


def test_resources_lookup_target_is_defined_before_its_create(api: API) -> None:
    text = emit_resources.emit(api)[emit_resources.RESOURCES_DIR / "payment_widgets.py"]
    assert text.index("PAYMENT_WIDGETS_GET_SINGLE_FIAT: ") < text.index("PAYMENT_WIDGETS_CREATE_SINGLE_FIAT: ")


def test_client_emitter_makes_one_lazy_cached_property_per_resource(api: API) -> None:
    (text,) = emit_client.emit(api).values()
    tree = _parses(text)
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef))
    props = [n.name for n in cls.body if isinstance(n, ast.FunctionDef)]
    assert props == [*(r.name for r in api.resources), "with_raw_response"]
    assert "from .resources.payouts import AsyncPayouts\n\n        return AsyncPayouts(self)" in text


def test_sync_emitter_offers_no_loop_bound_argument(api: API) -> None:
    (text,) = emit_sync.emit(api, read_engine()).values()
    _parses(text)
    init = text[text.index("def __init__(") : text.index(") -> None:", text.index("def __init__("))]
    assert "session" not in init and "transport" not in init
    assert "timeout: float = DEFAULT_TIMEOUT" in init
    assert "await " not in text


def test_events_emitter_writes_every_event_class(api: API) -> None:
    (text,) = emit_events.emit(api).values()
    names = {n.name for n in _parses(text).body if isinstance(n, ast.ClassDef)}
    assert names == {e.class_name for e in api.events}


def test_coverage_page_lists_every_operation_with_its_provenance(api: API) -> None:
    (text,) = emit_coverage.emit(api).values()
    for op in api.ops:
        assert f"| `{op.sdk_name}` |" in text
    assert "`inferred`" in text


def test_emitters_do_not_change_the_description(api: API) -> None:
    before = copy.deepcopy([(op.sdk_name, op.args, op.lookup) for op in api.ops])
    emit_resources.emit(api)
    emit_sync.emit(api, read_engine())
    assert before == [(op.sdk_name, op.args, op.lookup) for op in api.ops]


def test_outputs_are_the_files_freshness_checks(api: API) -> None:
    from scripts.codegen.__main__ import generate

    files = generate()
    root = Path(__file__).resolve().parents[2]
    assert root / "calypso_sync" / "_generated.py" in files
    assert root / "calypso_async" / "_client.py" in files
    assert root / "calypso_async" / "webhooks" / "_events.py" in files
    assert root / "docs" / "reference-coverage.md" in files


class _EngineWithAPlainMethod(AsyncAPIClient):
    def helper(self) -> int:
        return 1


def test_engine_parser_refuses_a_member_it_cannot_mirror() -> None:
    with pytest.raises(EngineError, match="helper"):
        read_engine(_EngineWithAPlainMethod)
