"""The parser: the vendored spec read into one description of the API that every emitter renders.

Input: ``calypso_async/_spec/openapi.json`` (our spec, x- extensions described in ``_spec/SOURCE.md``),
``operations.json`` (the naming table ``client.<resource>.<method_name>``) and ``events.json`` (webhook events).
Output: :class:`API`: enums, models (with the module, "area", each lives in), unions, operations with their
arguments, resources, webhook events. Deterministic: spec order for operations and fields, sorted order wherever
it groups.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .text import camel, literal, sentence, snake

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "calypso_async"
SPEC_DIR = PACKAGE / "_spec"

# ------------------------------------------------------------------------------------------- naming tables

ENUM_NAMES: dict[tuple[str, str], str] = {
    ("InvoiceDTO", "type"): "InvoiceType",
    ("InvoiceDTO", "state"): "InvoiceState",
    ("InvoiceDTO", "interventionType"): "InterventionType",
    ("PaymentWidgetPGSingleFiatDTO", "widgetType"): "WidgetType",
    ("PaymentWidgetPGUnlimitedLinkedDTO", "widgetType"): "WidgetType",
    ("PaymentWidgetPGSingleFiatDTO", "widgetState"): "WidgetState",
    ("PaymentWidgetPGUnlimitedLinkedDTO", "widgetState"): "WidgetState",
    ("PublicDealResponseDTO", "state"): "PayoutState",
    ("PGDealResponseDTO", "state"): "PayoutState",
    ("PublicDealResponseDTO", "belongingType"): "PayoutBelongingType",
    ("PayoutWithdrawalResponse", "state"): "WithdrawalState",
    ("SettlementWithdrawalResponse", "state"): "WithdrawalState",
    ("WithdrawalError", "status"): "WithdrawalErrorStatus",
    ("PGTransactionDTO", "transactionState"): "PurseTransactionState",
    ("TransactionStateFilter", "equals"): "PurseTransactionState",
    ("TransactionStateFilter", "notEquals"): "PurseTransactionState",
    ("TransactionStateFilter", "in"): "PurseTransactionState",
    ("TransactionStateFilter", "notIn"): "PurseTransactionState",
    ("PGTransactionDTO", "complianceState"): "ComplianceState",
    ("ExchangeDTO", "state"): "ExchangeState",
    ("C2fOrderDTO", "state"): "C2fOrderState",
    ("C2fSaleRequestPayload", "type"): "C2fSaleType",
    ("OrderDepositResponsePGDTO", "state"): "FiatDepositOrderState",
    ("OrderResponsePGDTO", "state"): "FiatWithdrawalOrderState",
    ("FiatOrderDTO", "state"): "FiatOrderState",
    ("C2fOrderDTO", "fiatCurrency"): "FiatCurrency",
    ("FiatAdjustment", "fiatCurrency"): "FiatCurrency",
    ("FiatDepositMethodItem", "fiatCurrency"): "FiatCurrency",
    ("FiatOrderDTO", "fiatCurrency"): "FiatCurrency",
    ("FiatWithdrawalMethod", "fiatCurrency"): "FiatCurrency",
    ("OrderDepositResponsePGDTO", "fiatCurrency"): "FiatCurrency",
    ("OrderResponsePGDTO", "fiatCurrency"): "FiatCurrency",
    ("FiatDepositMethodItem", "withdrawalSettingsType"): "WithdrawalSettingsType",
    ("FiatWithdrawalMethod", "withdrawalSettingsType"): "WithdrawalSettingsType",
    ("ExtendedFeeRequestItem", "opType"): "FeeOperationType",
    ("ExtendedFeeResponseItem", "opType"): "FeeOperationType",
    ("ExtendedFeeRequestItem", "feeType"): "FeeType",
    ("SettlementWalletTransaction", "opCode"): "SettlementOpCode",
    ("SettlementWalletTransactionsPayload", "opcodes"): "SettlementOpCode",
    ("FindCustomerPurseTransactionsPayload", "sort"): "SortDirection",
    ("SettlementWalletTransactionsPayload", "sort"): "SortDirection",
    ("PageRequestFields", "sort"): "SortDirection",
    ("PGUserFullInfoDTO", "roles"): "UserRole",
    ("WebhookEnvelope", "level"): "WebhookLevel",
    ("ZoneOffsetTransitionRule", "month"): "Month",
    ("ZoneOffsetTransitionRule", "timeDefinition"): "TimeDefinition",
    ("ZoneOffsetTransitionRule", "dayOfWeek"): "DayOfWeek",
}
"""(schema, property) -> OpenEnum class name. Fields not listed get ``<Schema><Property>``."""

ENUM_DOCS: dict[str, str] = {
    "InvoiceType": "Kind of invoice, fixed by the create call used.",
    "InvoiceState": "State of an invoice (see the invoice state machine in the reference).",
    "InterventionType": "Kind of pending invoice intervention.",
    "WidgetType": "Kind of payment widget.",
    "WidgetState": "State of a payment widget.",
    "PayoutState": "State of a payout (see the payout state machine in the reference).",
    "PayoutBelongingType": "Presumably marks Calypso-internal transfers.",
    "WithdrawalState": "State of one withdrawal inside a payout (its own enum, distinct from the payout state).",
    "WithdrawalErrorStatus": "Status of a per-withdrawal error entry.",
    "PurseTransactionState": "State of a customer-purse deposit.",
    "ComplianceState": "Compliance screening state of a customer-purse deposit (note ``DECLINE``, not ``DECLINED``).",
    "ExchangeState": "State of an exchange; treat unknown states as not final.",
    "C2fOrderState": "State of a crypto-to-fiat sale order.",
    "C2fSaleType": "Crypto-to-fiat sale type (also the ``{type}`` path parameter).",
    "FiatDepositOrderState": "State of an onramp (fiat deposit) order; only ``COMPLETED`` means crypto was credited.",
    "FiatWithdrawalOrderState": "State of a fiat withdrawal order.",
    "FiatOrderState": "State of a Fiat API order (lower-case values).",
    "FiatCurrency": "Fiat currency code (an enum in older docs, a plain string in newer ones).",
    "WithdrawalSettingsType": "Payment or payout method type.",
    "FeeOperationType": "Operation priced by the fee pre-calculation.",
    "FeeType": "Which part of the fee is passed to the end user.",
    "SettlementOpCode": "Operation code of a settlement-wallet transaction.",
    "SortDirection": "Sort direction of a find call.",
    "UserRole": "Role of an API user.",
    "WebhookLevel": "Level of a webhook delivery.",
    "Month": "Month (part of a serialised java.time.ZoneOffset).",
    "TimeDefinition": "Time definition (part of a serialised java.time.ZoneOffset).",
    "DayOfWeek": "Day of the week (part of a serialised java.time.ZoneOffset).",
}

AREA_OF_RESOURCE: dict[str, str] = {
    "account": "account",
    "user": "account",
    "rates": "rates",
    "invoices": "invoices",
    "payment_widgets": "invoices",
    "payouts": "payouts",
    "settlement_payouts": "payouts",
    "fiat_withdrawals": "fiat",
    "fiat": "fiat",
    "fiat_deposits": "fiat",
    "crypto_to_fiat": "fiat",
    "exchanges": "exchanges",
    "customer_purse": "customer_purse",
    "settlement_wallets": "settlement",
    "settlement_reports": "settlement",
    "reports": "settlement",
    "webhooks": "webhooks",
}
"""Resource -> models module. Schemas used by several areas go to ``models/_common.py``."""

AREA_DOCS: dict[str, str] = {
    "_common": "Models shared by several areas: currencies, filters, paging, errors.",
    "account": "Models of the account and user calls.",
    "rates": "Models of the rate calls.",
    "invoices": "Models of invoices and payment widgets.",
    "payouts": "Models of payouts, settlement payouts and the fee pre-calculation.",
    "fiat": "Models of the fiat calls: fiat withdrawals, fiat deposits (onramp), the Fiat API, crypto-to-fiat sales.",
    "exchanges": "Models of the exchange calls.",
    "customer_purse": "Models of customers, purses and their deposits.",
    "settlement": "Models of settlement wallets and of the reports.",
    "webhooks": "Models of webhook subscriptions and deliveries.",
}

ORPHAN_AREAS: dict[str, str] = {
    "ExtendedFeeRequestPayload": "payouts",
    "ExtendedFeeResponse": "payouts",
    "C2fSaleRequestPayload": "fiat",
    "WebhookEnvelope": "webhooks",
    "PageRequestFields": "_common",
    "PublicGatewayErrorResponse": "_common",
}
"""Schemas no operation references (their calls have no documented path): where they live."""

MODEL_ALIASES: dict[str, str] = {
    "Account": "AccountResponseDTO",
    "CurrentUser": "PGCompanyUserFullInfoDTO",
    "Invoice": "InvoiceDTO",
    "Payout": "PublicDealResponseDTO",
    "SettlementPayout": "PGDealResponseDTO",
    "Exchange": "ExchangeDTO",
    "Customer": "CustomerDTO",
    "PurseTransaction": "PGTransactionDTO",
    "WebhookSubscription": "WebhookChannelDTO",
}
"""Readable aliases (same class object) for the schemas users meet most."""


# ----------------------------------------------------------------------------------------------- helpers


def enum_name(schema_name: str, prop: str) -> str:
    return ENUM_NAMES.get((schema_name, prop)) or (
        camel(re.sub(r"(DTO|Response|Request|Payload)$", "", schema_name)) + camel(prop)
    )


def ref_name(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref")
    if ref:
        return str(ref).rsplit("/", 1)[-1]
    all_of = schema.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1 and "$ref" in all_of[0]:
        return str(all_of[0]["$ref"]).rsplit("/", 1)[-1]
    return None


# ------------------------------------------------------------------------------------------ spec reading


@dataclass
class EnumDef:
    name: str
    values: list[str] = field(default_factory=list)
    presumed: list[str] = field(default_factory=list)
    complete: bool = False
    doc: str = ""
    aliases: dict[str, str] = field(default_factory=dict)
    users: list[str] = field(default_factory=list)


@dataclass
class FieldDef:
    name: str
    wire: str
    type: str
    doc: str
    secret: bool
    names: set[str]


@dataclass
class ModelDef:
    name: str
    doc: list[str]
    fields: list[FieldDef]
    area: str = "_common"
    refs: set[str] = field(default_factory=set)


@dataclass
class Arg:
    name: str
    wire: str
    annotation: str
    check: str
    required: bool
    doc: str
    names: set[str]
    idempotency: bool = False
    path: bool = False


@dataclass
class OpDef:
    sdk_name: str
    resource: str
    method_name: str
    http_method: str
    path: str
    summary: str
    notes: str
    """``x-notes``: for the SDK's authors (docs/reference-coverage.md), never in a docstring."""
    doc: str
    """``x-doc``: what a user of the method should know."""
    confidence: str
    account: bool
    payload_mode: str
    payload_schema: str | None
    response: str | None
    response_names: set[str]
    idempotency_field: str | None
    money_moving: bool
    pagination: dict[str, Any] | None
    exactly_one_of: list[str]
    extra_allowed: bool
    no_blind_retry: bool = False
    lookup: dict[str, Any] | None = None
    args: list[Arg] = field(default_factory=list)
    item_model: str | None = None
    """For a paged operation: the model of one item (``iter_*`` yields these)."""

    @property
    def const(self) -> str:
        return f"{self.resource}_{self.method_name}".upper()

    @property
    def iter_name(self) -> str:
        return "iter_" + self.method_name.removeprefix("find_")

    @property
    def blind_retry(self) -> bool:
        return not (self.no_blind_retry or (self.money_moving and not self.idempotency_field))


@dataclass
class ResourceDef:
    name: str
    """Attribute on the client: ``payouts``."""
    tag: str
    """The reference's group name (``Payout API``)."""
    description: str
    ops: list[OpDef]

    @property
    def async_class(self) -> str:
        return "Async" + camel(self.name)

    @property
    def sync_class(self) -> str:
        return camel(self.name)


@dataclass
class EventField:
    name: str
    wire: str
    type: str
    doc: str


@dataclass
class EventDef:
    type: str
    service: str
    when: str
    aliases: list[str]
    confidence: str
    notes: str
    presumed_from: str | None
    fields: list[EventField]

    @property
    def class_name(self) -> str:
        return "".join(part.capitalize() for part in self.type.split("_")) + "Data"


class API:
    """The whole description: built from the three spec files, read by every emitter."""

    def __init__(
        self, spec: dict[str, Any], operations: list[dict[str, Any]], events: list[dict[str, Any]] | None = None
    ) -> None:
        self.spec = spec
        self.schemas: dict[str, dict[str, Any]] = spec["components"]["schemas"]
        self.naming = operations
        self.enums: dict[str, EnumDef] = {}
        self.models: dict[str, ModelDef] = {}
        self.unions: dict[str, str] = {}  # schema name -> "str | Model"
        self.untyped: set[str] = set()
        self.envelopes: set[str] = set()
        self.ops: list[OpDef] = []
        self._classify()
        self._collect_enums()
        self._build_models()
        self._build_operations()
        self._assign_areas()
        self.resources: list[ResourceDef] = self._build_resources()
        self.events: list[EventDef] = [self._event(e, {x["type"]: x for x in events}) for e in events or []]
        self.model_aliases = MODEL_ALIASES
        self.area_docs = AREA_DOCS

    def areas(self) -> dict[str, list[ModelDef]]:
        """Models module -> its models (``_common`` always present)."""
        found: dict[str, list[ModelDef]] = {"_common": []}
        for model in self.models.values():
            found.setdefault(model.area, []).append(model)
        return dict(sorted(found.items()))

    # -- resources

    def _build_resources(self) -> list[ResourceDef]:
        out: dict[str, ResourceDef] = {}
        for op in self.ops:
            if op.resource not in out:
                tag = next(t for t in self.spec["tags"] if t.get("x-sdk-resource") == op.resource)
                out[op.resource] = ResourceDef(op.resource, tag["name"], sentence(tag.get("description", "")), [])
            out[op.resource].ops.append(op)
            if op.pagination:
                assert op.response is not None
                op.item_model = ref_name(self.schemas[op.response]["properties"]["result"]["items"])
                assert op.item_model is not None, op.sdk_name
        return list(out.values())

    # -- webhook events

    def _event(self, event: dict[str, Any], by_type: dict[str, dict[str, Any]]) -> EventDef:
        fields: dict[str, str] = dict(event["payload_fields"])
        presumed_from = None
        match = _PRESUMED.search(event.get("notes", ""))
        if not fields and match and match.group(1) in by_type:
            presumed_from = match.group(1)
            fields = dict(by_type[presumed_from]["payload_fields"])
        return EventDef(
            type=event["type"],
            service=event["service"],
            when=event["when"],
            aliases=list(event.get("aliases", [])),
            confidence=event["source_confidence"],
            notes=event.get("notes", ""),
            presumed_from=presumed_from,
            fields=[
                EventField(snake(wire), wire, event_field_type(wire, text), event_field_doc(text))
                for wire, text in fields.items()
                if wire != "type"  # inherited from EventData
            ],
        )

    # -- classification

    def _classify(self) -> None:
        for name, schema in self.schemas.items():
            props = schema.get("properties")
            if isinstance(props, dict) and "timestamp" in props and set(props) <= {"account", "timestamp", "payload"}:
                self.envelopes.add(name)
            elif schema.get("type") == "string" and schema.get("x-open-enum"):
                self.enums[name] = EnumDef(
                    name=name,
                    values=list(schema.get("x-known-values", [])),
                    presumed=list(schema.get("x-presumed-values", [])),
                    complete=bool(schema.get("x-known-values-complete")),
                    doc=sentence(schema.get("description", "")),
                    aliases=dict(schema.get("x-aliases", {})),
                    users=[name],
                )
            elif "oneOf" in schema:
                self.unions[name] = ""
            elif "type" not in schema and "properties" not in schema:
                self.untyped.add(name)

    def _enum_for(self, schema_name: str, prop: str, schema: dict[str, Any], description: str) -> str:
        name = enum_name(schema_name, prop)
        enum = self.enums.get(name)
        if enum is None:
            enum = self.enums[name] = EnumDef(name=name, doc=ENUM_DOCS.get(name, sentence(description)))
        for value in schema.get("x-known-values", []):
            if value not in enum.values:
                enum.values.append(value)
        for value in schema.get("x-presumed-values", []):
            if value not in enum.presumed and value not in enum.values:
                enum.presumed.append(value)
        enum.complete = enum.complete or bool(schema.get("x-known-values-complete"))
        enum.users.append(f"{schema_name}.{prop}")
        return name

    def _collect_enums(self) -> None:
        for schema_name, schema in self.schemas.items():
            if schema_name in self.envelopes:
                continue
            for prop, prop_schema in schema.get("properties", {}).items():
                if prop_schema.get("x-open-enum"):
                    self._enum_for(schema_name, prop, prop_schema, prop_schema.get("description", ""))
                items = prop_schema.get("items", {})
                if prop_schema.get("type") == "array" and items.get("x-open-enum"):
                    self._enum_for(schema_name, prop, items, prop_schema.get("description", ""))
        for enum in self.enums.values():
            enum.presumed = [v for v in enum.presumed if v not in enum.values]

    # -- types

    def py_type(self, owner: str, prop: str, schema: dict[str, Any], names: set[str]) -> str:
        """Python type of a response/model field."""
        ref = ref_name(schema)
        if ref is not None:
            if ref in self.enums:
                names.add(ref)
                return ref
            if ref in self.untyped:
                names.add("Any")
                return "Any"
            names.add(ref)
            return ref
        if "oneOf" in schema:
            parts = []
            for option in schema["oneOf"]:
                parts.append(self.py_type(owner, prop, option, names))
            return " | ".join(parts)
        kind = schema.get("type")
        if kind == "string":
            if schema.get("x-open-enum"):
                name = enum_name(owner, prop)
                assert name in self.enums, (owner, prop)
                names.add(name)
                return name
            if schema.get("format") == "date-time":
                names.add("datetime")
                return "datetime"
            return "str"
        if kind == "number":
            names.add("Decimal")
            return "Decimal"
        if kind == "integer":
            return "int"
        if kind == "boolean":
            return "bool"
        if kind == "array":
            return f"list[{self.py_type(owner, prop, schema.get('items', {}), names)}]"
        if kind == "object" or "additionalProperties" in schema:
            extra = schema.get("additionalProperties", True)
            if isinstance(extra, dict) and extra:
                return f"dict[str, {self.py_type(owner, prop, extra, names)}]"
            names.add("Any")
            return "dict[str, Any]"
        names.add("Any")
        return "Any"

    # -- models

    def _build_models(self) -> None:
        for name, schema in self.schemas.items():
            if name in self.unions:
                names: set[str] = set()
                self.unions[name] = self.py_type(name, "", schema, names)
        for name, schema in self.schemas.items():
            if name in self.envelopes or name in self.enums or name in self.unions or name in self.untyped:
                continue
            props = schema.get("properties", {})
            fields = []
            refs: set[str] = set()
            for wire, prop_schema in props.items():
                names: set[str] = set()
                tp = self.py_type(name, wire, prop_schema, names)
                refs |= {n for n in names if n in self.schemas}
                doc = sentence(prop_schema.get("description", ""))
                if prop_schema.get("x-unconfirmed"):
                    doc = (doc + " (Unconfirmed by the docs.)").strip()
                fields.append(
                    FieldDef(
                        name=snake(wire),
                        wire=wire,
                        type=tp,
                        doc=doc,
                        secret=bool(prop_schema.get("x-secret") or prop_schema.get("x-sensitive")),
                        names=names,
                    )
                )
            doc: list[str] = [sentence(schema.get("description", name))]
            if schema.get("x-notes"):
                doc.append(sentence(schema["x-notes"]))
            aliases = schema.get("x-field-aliases")
            if aliases:
                pairs = ", ".join(f"``{snake(old)}`` -> ``{snake(new)}``" for old, new in aliases.items())
                doc.append(
                    f"Two response versions coexist; older field names map to newer ones ({pairs}): "
                    "read the newer field and fall back to the older one."
                )
            if schema.get("x-exactly-one-of") and "exactly one" not in schema.get("x-notes", "").lower():
                one_of = " / ".join(f"``{snake(f)}``" for f in schema["x-exactly-one-of"])
                doc.append(f"Exactly one of {one_of} must be sent.")
            extra = schema.get("additionalProperties")
            if extra is True:
                doc.append("Fields this version does not know are kept in ``extra`` (wire name -> raw value).")
            coined = " (name coined by the reference)" if schema.get("x-name-coined") else ""
            doc.append(f"Schema ``{name}``{coined}; confidence: {schema.get('x-confidence', 'unknown')}.")
            self.models[name] = ModelDef(name=name, doc=doc, fields=fields, refs=refs)

    # -- operations

    def _payload_schema(self, envelope: str) -> str | None:
        props = self.schemas[envelope].get("properties", {})
        payload = props.get("payload")
        return ref_name(payload) if payload else None

    def _build_operations(self) -> None:
        by_name: dict[str, tuple[str, str, dict[str, Any]]] = {}
        for path, item in self.spec["paths"].items():
            for method, op in item.items():
                by_name[op["x-sdk-name"]] = (path, method, op)
        for entry in self.naming:
            sdk_name = f"{entry['resource']}.{entry['method_name']}"
            path, method, op = by_name[sdk_name]
            assert path == entry["path"] and method.upper() == entry["method"], sdk_name
            envelope_schema = ref_name(op["requestBody"]["content"]["application/json"]["schema"])
            assert envelope_schema is not None
            payload_schema = self._payload_schema(envelope_schema)
            response = None
            response_names: set[str] = set()
            content = op["responses"]["200"].get("content")
            if content:
                ref = ref_name(content["application/json"]["schema"])
                if ref is not None and ref in self.models:
                    response = ref
                    response_names.add(ref)
            idem = op.get("x-idempotency-field")
            if idem:
                idem = idem.removeprefix("payload.")
            payload_def = self.schemas.get(payload_schema, {}) if payload_schema else {}
            opdef = OpDef(
                sdk_name=sdk_name,
                resource=entry["resource"],
                method_name=entry["method_name"],
                http_method=method.upper(),
                path=path,
                summary=sentence(op.get("summary", entry.get("summary", ""))),
                notes=sentence(op.get("x-notes", "")),
                doc=sentence(op.get("x-doc", "")),
                confidence=op.get("x-confidence", entry["confidence"]),
                account=bool(op["x-envelope"]["account"]),
                payload_mode=op["x-envelope"]["payload"],
                payload_schema=payload_schema if op["x-envelope"]["payload"] != "none" else None,
                response=response,
                response_names=response_names,
                idempotency_field=idem,
                money_moving=bool(op.get("x-money-moving")),
                pagination=op.get("x-pagination"),
                exactly_one_of=list(payload_def.get("x-exactly-one-of", [])),
                extra_allowed=payload_def.get("additionalProperties") is True,
                no_blind_retry=bool(op.get("x-no-blind-retry")),
                lookup=op.get("x-idempotent-lookup"),
            )
            opdef.args = self._args(opdef, op)
            self.ops.append(opdef)
        assert len(self.ops) == len(self.naming)

    def _arg_kind(self, owner: str, prop: str, schema: dict[str, Any], names: set[str]) -> tuple[str, str]:
        """(annotation, check call template with {name} {value} {opt}) for one request field."""
        ref = ref_name(schema)
        if ref is not None:
            if ref in self.enums:
                return "str", "_v.string({name}, {value}{opt})"
            if ref in self.unions:
                union = self.unions[ref]
                model = [p for p in union.split(" | ") if p != "str"]
                assert len(model) == 1, ref
                names.update({"Mapping", "Any", model[0]})
                return (
                    f"str | {model[0]} | Mapping[str, Any]",
                    f"_v.code_or_model({{name}}, {{value}}, {model[0]}{{opt}})",
                )
            if ref in self.untyped:
                names.add("Any")
                return "Any", "_v.anything({name}, {value}{opt})"
            names.update({"Mapping", "Any", ref})
            return f"{ref} | Mapping[str, Any]", f"_v.model({{name}}, {{value}}, {ref}{{opt}})"
        if "oneOf" in schema:
            models = [ref_name(o) for o in schema["oneOf"] if ref_name(o)]
            assert len(models) == 1 and all(o.get("type") == "string" for o in schema["oneOf"] if not ref_name(o))
            model = models[0]
            assert model is not None
            names.update({"Mapping", "Any", model})
            return f"str | {model} | Mapping[str, Any]", f"_v.code_or_model({{name}}, {{value}}, {model}{{opt}})"
        kind = schema.get("type")
        if kind == "string":
            if schema.get("format") == "date-time":
                names.add("datetime")
                return "datetime | str", "_v.when({name}, {value}{opt})"
            return "str", "_v.string({name}, {value}{opt})"
        if kind == "number":
            names.add("Decimal")
            return "Decimal | int", "_v.amount({name}, {value}{opt})"
        if kind == "integer":
            return "int", "_v.integer({name}, {value}{opt})"
        if kind == "boolean":
            return "bool", "_v.boolean({name}, {value}{opt})"
        if kind == "array":
            items = schema.get("items", {})
            item_ann, item_check = self._arg_kind(owner, prop, items, names)
            names.add("Sequence")
            if item_check.startswith("_v.string("):
                return "Sequence[str]", "_v.strings({name}, {value}{opt})"
            if item_check.startswith("_v.code_or_model("):
                model = item_ann.split(" | ")[1]
                return f"Sequence[{item_ann}]", f"_v.codes_or_models({{name}}, {{value}}, {model}{{opt}})"
            if (
                item_check.startswith("_v.model(")
                and self.schemas[ref_name(items) or ""].get("additionalProperties") is False
            ):
                model = item_ann.split(" | ")[0]
                required = tuple(self.schemas[model].get("required", []))
                check = f"_v.closed_models({{name}}, {{value}}, {model}, {required!r}{{opt}})"
                return f"Sequence[{item_ann}]", check
            if item_check.startswith("_v.model("):
                model = item_ann.split(" | ")[0]
                return f"Sequence[{item_ann}]", f"_v.models({{name}}, {{value}}, {model}{{opt}})"
            raise AssertionError(f"unsupported array argument {owner}.{prop}")
        if kind == "object" or "additionalProperties" in schema:
            names.update({"Mapping", "Any"})
            return "Mapping[str, Any]", "_v.mapping({name}, {value}{opt})"
        names.add("Any")
        return "Any", "_v.anything({name}, {value}{opt})"

    def _args(self, opdef: OpDef, op: dict[str, Any]) -> list[Arg]:
        args: list[Arg] = []
        for param in op.get("parameters", []):
            if "$ref" in param or param.get("in") != "path":
                continue
            pname = param["name"]
            args.append(
                Arg(
                    name=snake(pname),
                    wire=pname,
                    annotation="str",
                    check=f"_v.path_param({literal(snake(pname))}, {snake(pname)})",
                    required=True,
                    doc=sentence(param.get("description", "")),
                    names=set(),
                    path=True,
                )
            )
        if opdef.payload_schema is None:
            return args
        schema = self.schemas[opdef.payload_schema]
        required = set(schema.get("required", []))
        one_of = set(opdef.exactly_one_of)
        payload_args: list[Arg] = []
        for wire, prop_schema in schema.get("properties", {}).items():
            names: set[str] = set()
            ann, check = self._arg_kind(opdef.payload_schema, wire, prop_schema, names)
            name = snake(wire)
            is_idem = wire == opdef.idempotency_field
            is_required = wire in required and not is_idem and wire not in one_of
            if is_idem or wire in one_of:
                assert ann == "str", (opdef.sdk_name, wire)
                call = f"_v.key({literal(name)}, {name})"
            else:
                call = check.format(name=literal(name), value=name, opt="" if is_required else ", optional=True")
            doc = sentence(prop_schema.get("description", ""))
            if is_idem:
                doc = (doc + " Generated (a UUID) when not given; reused on every retry.").strip()
            payload_args.append(
                Arg(
                    name=name,
                    wire=wire,
                    annotation=ann,
                    check=call,
                    required=is_required,
                    doc=doc,
                    names=names,
                    idempotency=is_idem,
                )
            )
        payload_args.sort(key=lambda a: not a.required)  # stable: required first, spec order kept
        args.extend(payload_args)
        taken = {a.name for a in args}
        assert not taken & {"account", "timeout", "max_retries", "extra", "self"}, opdef.sdk_name
        return args

    # -- areas

    def _assign_areas(self) -> None:
        usage: dict[str, set[str]] = {name: set() for name in self.models}

        def visit(name: str, area: str, seen: set[str]) -> None:
            if name not in self.models or name in seen:
                return
            seen.add(name)
            usage[name].add(area)
            for ref in self.models[name].refs:
                visit(ref, area, seen)
            for union_ref in self._union_refs(name):
                visit(union_ref, area, seen)

        for op in self.ops:
            area = AREA_OF_RESOURCE[op.resource]
            for root in (op.payload_schema, op.response):
                if root:
                    visit(root, area, set())
        for root, area in ORPHAN_AREAS.items():
            visit(root, area, set())
        for name, model in self.models.items():
            areas = usage[name]
            model.area = next(iter(areas)) if len(areas) == 1 else "_common"
        # Union aliases (CurrencyCodeOrObject) and everything they reference live in _common.
        for union in self.unions.values():
            for part in union.split(" | "):
                if part in self.models:
                    self.models[part].area = "_common"
        changed = True
        while changed:  # a _common model's references must be in _common too
            changed = False
            for model in self.models.values():
                if model.area == "_common":
                    for ref in model.refs:
                        if ref in self.models and self.models[ref].area != "_common":
                            self.models[ref].area = "_common"
                            changed = True
        for model in self.models.values():
            for ref in model.refs:
                if ref in self.models:
                    assert self.models[ref].area in (model.area, "_common"), (model.name, ref)

    def _union_refs(self, name: str) -> list[str]:
        out = []
        for ref in self.models[name].refs:
            if ref in self.unions:
                out.extend(p for p in self.unions[ref].split(" | ") if p in self.models)
        return out


_PRESUMED = re.compile(r"fields presumably match ([A-Z0-9_]+)")


def event_field_type(wire: str, spec: str) -> str:
    """Typing rules for the catalogue's ``"<kind>; <description>"`` fields.

    ``fiatAmount`` -> ``DecimalOrObject`` (a number in some events, an object in others); ``array of ...`` ->
    ``StringList`` (a single id becomes a one-item list); names ending in ``Id``/``Ids`` -> ``str`` (ids arrive
    as numbers but the API's ids are strings); numbers and ``...Amount`` strings -> ``Decimal``; ``...Date`` ->
    ``datetime``.
    """
    kind = spec.split(";", 1)[0].strip().lower()
    if wire == "fiatAmount":
        return "DecimalOrObject"
    if kind.startswith("array"):
        return "StringList"
    if kind == "boolean":
        return "bool"
    if wire.endswith(("Id", "Ids")):
        return "str"
    if kind == "number" or (kind.startswith("string") and wire.lower().endswith("amount")):
        return "Decimal"
    if wire.endswith("Date"):
        return "datetime"
    if kind in ("string", "string or number"):
        return "str"
    if kind == "object":
        return "dict[str, Any]"
    raise SystemExit(f"codegen: no typing rule for event field {wire!r} ({spec!r}); add one")


def event_field_doc(spec: str) -> str:
    parts = spec.split(";", 1)
    return sentence(parts[1].strip() if len(parts) > 1 else parts[0].strip())


def load(spec_dir: Path = SPEC_DIR) -> API:
    """The description of the vendored spec."""

    def read(name: str) -> Any:
        return json.loads((spec_dir / name).read_text("utf-8"))

    return API(read("openapi.json"), read("operations.json"), read("events.json"))
