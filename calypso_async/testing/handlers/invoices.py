"""Invoices and payment widgets: creation (idempotent by key), lookup, and the simulated payer.

Why the payer lives here: :func:`pay_invoice` drives the invoice state machine the reference describes
(PENDING_PAYMENT -> MEM_POOL_FOUND -> PAID -> COMPLETED, or PENDING_INTERVENTION when under/overpaid), emits
the matching webhooks and credits the merchant balance on COMPLETED, so SDK tests can exercise the whole
acquiring flow without a blockchain.

Rules: paid/invoiced >= 0.995 counts as paid; more than the amount is an OVERPAY intervention, less than
99.5 % an UNDERPAY one (a later payment can complete it). Unlimited invoices stay PENDING_PAYMENT and credit
every deposit. An unpaid invoice past its ``expiration`` becomes ARCHIVED (``INVOICE_EXPIRED``) when next read.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .._call import Call, Handler
from .._errors import UnknownObjectError
from .._http import bad_request, duplicate_key, not_found, parse_iso
from .._state import Record, State

__all__ = ["HANDLERS", "PAYMENT_LINK", "pay_invoice", "select_widget_currency"]

PAYMENT_LINK = "https://pay.calypso.finance/invoice/{key}"
WIDGET_LINK = "https://pay.calypso.finance/widget/{key}"
PAID_RATIO = Decimal("0.995")
_DAY = 86_400.0
_FINAL = frozenset({"COMPLETED", "ARCHIVED", "DECLINED"})


def _compact(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


def _event_data(record: Record, event: str, **extra: Any) -> dict[str, Any]:
    data = record.data
    return _compact(
        {
            "type": event,
            "parentExternalId": int(data["id"]),
            "idempotencyKey": data.get("idempotencyKey"),
            "externalId": data.get("externalId"),
            "amount": data.get("amount"),
            "currency": data.get("currency"),
            "message": data.get("description"),
            "description": data.get("description"),
            "fiatAmount": data.get("fiatAmount"),
            "fiatCurrency": data.get("fiatCurrency"),
            "createdDate": data.get("createdDate"),
            "state": data.get("state"),
            **extra,
        }
    )


def _emit(state: State, record: Record, event: str, **extra: Any) -> None:
    state.emit(event, "INVOICE", _event_data(record, event, **extra))


def _expiration(call: Call, currency: str) -> str:
    state = call.state
    given = call.payload.get("expiration")
    now = state.now()
    if given is None:
        lifetime = 3 * 3600.0 if state.currencies[currency].chain == "tron" else _DAY
        return state.now_iso(lifetime)
    moment = parse_iso(given, "payload.expiration")
    if moment <= now:
        raise bad_request("payload.expiration must be in the future")
    if moment - now >= _DAY:
        raise bad_request("payload.expiration must be less than 24 hours from now")
    return str(given)


def _create(call: Call, kind: str, **fields: Any) -> dict[str, Any]:
    state = call.state
    key = call.text("idempotencyKey") or state.uuid()
    if key in state.invoice_keys:
        raise duplicate_key("invoice", key)
    currency = state.currency(call.require_str("currency")).code
    description = call.text("description")
    if kind != "UNLIMITED_LINKED" and not description:
        raise bad_request("payload.description is required")
    invoice_id = state.next_id()
    amount = fields.get("amount")
    data = _compact(
        {
            "id": invoice_id,
            "invoiceAddress": state.address(currency),
            "type": kind,
            "amount": amount,
            "fee": state.fee(amount, currency) if amount is not None else None,
            "totalDebitAmount": amount,
            "currency": currency,
            "state": "PENDING_PAYMENT",
            "description": description,
            "createdDate": state.now_iso(),
            "idempotencyKey": key,
            "expiration": None if kind in ("UNLIMITED", "UNLIMITED_LINKED") else _expiration(call, currency),
            "fiatAmount": fields.get("fiatAmount"),
            "fiatCurrency": fields.get("fiatCurrency"),
            "lastFiatUpdated": state.now_iso() if fields.get("fiatAmount") is not None else None,
            "isInterventionResolved": False if kind in ("SINGLE", "SINGLE_FIAT") else None,
            "subscriptionEnabled": False,
            "returnUrl": call.text("returnUrl"),
            "logoUrl": call.text("logoUrl"),
            "supportUrl": call.text("supportUrl"),
            "externalId": call.text("externalId"),
            "lowerBound": fields.get("lowerBound"),
            "fiatAvailable": call.payload.get("fiatAvailable", False if kind in ("BOUND", "UNLIMITED") else None),
            "paymentLink": PAYMENT_LINK.format(key=key),
        }
    )
    record = Record(call.account, data)
    state.invoices[invoice_id] = record
    state.invoice_keys[key] = invoice_id
    event = "INVOICE_CREATE_UNLIMITED_INVOICE" if kind.startswith("UNLIMITED") else "INVOICE_CREATE_INVOICE"
    _emit(state, record, event)
    return dict(data)


def create_single(call: Call) -> Any:
    currency = call.require_str("currency")
    return _create(call, "SINGLE", amount=call.amount("amount", currency))


def create_single_fiat(call: Call) -> Any:
    state = call.state
    currency = state.currency(call.require_str("currency")).code
    fiat = call.require_str("fiatCurrency").upper()
    if fiat not in state.fiat_per_usd:
        raise bad_request(f"Unsupported fiatCurrency {fiat!r}; supported: {', '.join(state.fiat_per_usd)}")
    fiat_amount = call.amount("fiatAmount")
    amount = call.optional_amount("amount", currency)
    if amount is None:
        amount = state.quantize(fiat_amount / state.rate(currency, fiat), currency)
        if amount <= 0:
            raise bad_request("payload.fiatAmount is too small to be paid in " + currency)
    return _create(call, "SINGLE_FIAT", amount=amount, fiatAmount=fiat_amount, fiatCurrency=fiat)


def create_bound(call: Call) -> Any:
    currency = call.require_str("currency")
    return _create(call, "BOUND", lowerBound=call.amount("lowerBound", currency))


def create_unlimited(call: Call) -> Any:
    return _create(call, "UNLIMITED")


def _refresh(state: State, record: Record) -> None:
    """Archive an unpaid invoice whose expiration has passed (checked lazily, on access)."""
    data = record.data
    expiration = data.get("expiration")
    if data["state"] == "PENDING_PAYMENT" and expiration and parse_iso(expiration, "expiration") < state.now():
        data["state"] = "ARCHIVED"
        _emit(state, record, "INVOICE_EXPIRED")


def find_invoice(state: State, id_or_key: str) -> Record | None:
    invoice_id = state.invoice_keys.get(id_or_key, id_or_key)
    return state.invoices.get(invoice_id)


def get(call: Call) -> Any:
    state = call.state
    wanted = call.text("id") or call.text("idempotencyKey") or ""
    record = state.invoices.get(wanted) if call.text("id") else find_invoice(state, wanted)
    if record is None or record.account != call.account:
        raise not_found(f"Invoice {wanted}")
    _refresh(state, record)
    return dict(record.data)


def pay_invoice(state: State, id_or_key: str, amount: Decimal | None, currency: str | None) -> dict[str, Any]:
    """A payer sends ``amount`` (default: what is still due) to the invoice address."""
    record = find_invoice(state, id_or_key)
    if record is None:
        raise UnknownObjectError(f"no invoice with id or idempotencyKey {id_or_key!r}")
    _refresh(state, record)
    data = record.data
    kind = data["type"]
    if currency is not None and currency != data["currency"]:
        raise ValueError(f"invoice {data['id']} is in {data['currency']}, not {currency}")
    if data["state"] in _FINAL or data["state"] == "PAID":
        raise ValueError(f"invoice {data['id']} is {data['state']}; it accepts no payment")
    if amount is None:
        if kind in ("SINGLE", "SINGLE_FIAT"):
            amount = data["amount"] - record.received
        elif kind == "BOUND":
            amount = data["lowerBound"]
        else:
            raise ValueError(f"{kind} invoices need an explicit amount")
    if not isinstance(amount, Decimal) or amount <= 0:
        raise ValueError("amount must be a positive Decimal")
    record.received += amount
    data["lastDepositHash"] = state.tx_hash(data["currency"])
    transaction = state.uuid()
    data["state"] = "MEM_POOL_FOUND"
    _emit(state, record, "INVOICE_MEMPOOL_FOUND", amount=amount, transactionId=[transaction])
    _emit(state, record, "INVOICE_FUNDS_RECEIVED_FOR_INVOICE", amount=amount, transactionId=[transaction])
    if kind in ("UNLIMITED", "UNLIMITED_LINKED"):
        _complete(state, record, amount, amount)
        data["state"] = "PENDING_PAYMENT"
        return dict(data)
    due = data["amount"] if kind in ("SINGLE", "SINGLE_FIAT") else data["lowerBound"]
    received = record.received
    if received < due * PAID_RATIO:
        _intervene(state, record, "UNDERPAY")
    elif received > due and kind in ("SINGLE", "SINGLE_FIAT"):
        _intervene(state, record, "OVERPAY")
    else:
        _complete(state, record, received, received)
    return dict(data)


def _intervene(state: State, record: Record, kind: str) -> None:
    data = record.data
    data["state"] = "PENDING_INTERVENTION"
    data["interventionType"] = kind
    data["isInterventionResolved"] = False
    _emit(state, record, "INVOICE_PENDING_INTERVENTION", interventionType=kind, realAmount=record.received)


def _complete(state: State, record: Record, real_amount: Decimal, credited: Decimal) -> None:
    data = record.data
    currency = data["currency"]
    data["state"] = "PAID"
    data.pop("interventionType", None)
    if "isInterventionResolved" in data:
        data["isInterventionResolved"] = True
    _emit(state, record, "INVOICE_PAID", realAmount=real_amount)
    fee = state.fee(credited, currency)
    state.credit(record.account, currency, credited - fee)
    data["state"] = "COMPLETED"
    _emit(state, record, "INVOICE_TRANSLATION_TO_ACCOUNT_COMPLETED", realAmount=real_amount, fee=fee)
    widget_key = record.extra.get("widget")
    if widget_key and widget_key in state.widgets:
        state.widgets[widget_key].data["widgetState"] = "COMPLETED"


# ------------------------------------------------------------------------------------------ widgets


def _codes(state: State, items: Any) -> list[str]:
    codes: list[str] = []
    for item in items or []:
        code = item.get("name") if isinstance(item, dict) else item
        codes.append(state.currency(str(code)).code)
    return codes or list(state.currencies)


def _create_widget(call: Call, kind: str, **fields: Any) -> dict[str, Any]:
    state = call.state
    key = call.text("idempotencyKey") or state.uuid()
    if key in state.widgets:
        raise duplicate_key("payment widget", key)
    data = _compact(
        {
            "idempotencyKey": key,
            "cryptoCurrencies": _codes(state, call.payload.get("cryptoCurrencies")),
            "description": call.text("description"),
            "widgetType": kind,
            "widgetState": "IN_PROGRESS",
            "logoUrl": call.text("logoUrl"),
            "returnUrl": call.text("returnUrl"),
            "supportUrl": call.text("supportUrl"),
            "externalId": call.text("externalId"),
            "invoices": [],
            "createdDate": state.now_iso(),
            "expiration": state.now_iso(_DAY),
            "widgetLink": WIDGET_LINK.format(key=key),
            **fields,
        }
    )
    state.widgets[key] = Record(call.account, data)
    return dict(data)


def create_unlimited_linked(call: Call) -> Any:
    return _create_widget(call, "UNLIMITED_LINKED")


def create_single_fiat_widget(call: Call) -> Any:
    state = call.state
    fiat = call.text("fiatCurrency")
    if fiat is not None and fiat.upper() not in state.fiat_per_usd:
        raise bad_request(f"Unsupported fiatCurrency {fiat!r}")
    return _create_widget(
        call,
        "SINGLE_FIAT",
        fiatAmount=call.optional_amount("fiatAmount"),
        fiatCurrency=fiat.upper() if fiat else None,
    )


def _get_widget(call: Call, kind: str) -> Any:
    key = call.require_str("requestId")
    record = call.state.widgets.get(key)
    if record is None or record.account != call.account or record.data["widgetType"] != kind:
        raise not_found(f"Payment widget {key}")
    return dict(record.data)


def get_unlimited_linked(call: Call) -> Any:
    return _get_widget(call, "UNLIMITED_LINKED")


def get_single_fiat_widget(call: Call) -> Any:
    return _get_widget(call, "SINGLE_FIAT")


def select_widget_currency(state: State, widget_key: str, currency: str) -> dict[str, Any]:
    """The payer picks ``currency`` on a widget's page: a new invoice is created under the widget."""
    widget = state.widgets.get(widget_key)
    if widget is None:
        raise UnknownObjectError(f"no payment widget {widget_key!r}")
    data = widget.data
    if currency not in data["cryptoCurrencies"]:
        raise ValueError(f"widget {widget_key} does not accept {currency}")
    payload: dict[str, Any] = {
        "currency": currency,
        "description": data.get("description") or "Payment widget",
        "idempotencyKey": state.uuid(),
        "externalId": data.get("externalId"),
    }
    call = Call("payment_widgets.select", state, widget.account, payload)
    if data["widgetType"] == "SINGLE_FIAT" and data.get("fiatAmount") is not None:
        payload.update(fiatAmount=data["fiatAmount"], fiatCurrency=data.get("fiatCurrency") or "USD")
        invoice: dict[str, Any] = create_single_fiat(call)
    else:
        invoice = _create(call, "UNLIMITED_LINKED")
    state.invoices[invoice["id"]].extra["widget"] = widget_key
    data["invoices"].append(
        _compact(
            {
                "invoiceId": invoice["id"],
                "cryptoCurrency": currency,
                "invoiceIdempotencyKey": invoice["idempotencyKey"],
                "invoiceExternalId": invoice.get("externalId"),
            }
        )
    )
    return invoice


HANDLERS: dict[str, Handler] = {
    "invoices.get": get,
    "invoices.create_single": create_single,
    "invoices.create_single_fiat": create_single_fiat,
    "invoices.create_bound": create_bound,
    "invoices.create_unlimited": create_unlimited,
    "payment_widgets.create_unlimited_linked": create_unlimited_linked,
    "payment_widgets.get_unlimited_linked": get_unlimited_linked,
    "payment_widgets.create_single_fiat": create_single_fiat_widget,
    "payment_widgets.get_single_fiat": get_single_fiat_widget,
}
