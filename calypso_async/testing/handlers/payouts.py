"""Payouts (single and mass) and settlement payouts: creation with balance debit, lookup, state progression.

Why debit at creation: the merchant's balance must never be promised twice, so the fake (like any ledger)
reserves amount + fee when the payout is accepted; a create the balance cannot cover is refused with 001
and a message saying how much is missing, and nothing is stored. Progress is driven by the test through
:func:`advance_payouts` (CREATED -> IN_PROGRESS -> COMPLETED; mass: CREATION_IN_PROGRESS -> IN_PROGRESS ->
COMPLETED or PARTIAL), each change announced with ``PAYOUT_CHANGE_STATUS``. :func:`fail_payout` refunds and
marks a payout FAILED. A scheduled payout (``executionDate`` in the future) waits until that time.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .._addresses import address_problem
from .._call import Call, Handler, check_amount
from .._errors import UnknownObjectError
from .._http import ApiError, bad_request, duplicate_key, not_found, parse_iso
from .._state import FEE_RATE, Record, State

__all__ = ["HANDLERS", "advance_payouts", "fail_payout", "seed"]

MASS_ITEM_FIELDS = ("withdrawals", "payouts", "recipients", "items")
"""Where a mass payout's recipients may be (the reference does not document the field): the first present."""

_NEXT = {"CREATED": "IN_PROGRESS", "CONFIRMED": "IN_PROGRESS", "CREATION_IN_PROGRESS": "IN_PROGRESS"}
_FEE_PERCENT = FEE_RATE * 100


def _compact(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


def _check_address(state: State, value: Any, where: str, currency: str) -> str:
    """A non-empty address without spaces, shaped for the currency's chain (:mod:`.._addresses`), else 001."""
    if not isinstance(value, str) or not value.strip() or any(ch.isspace() for ch in value):
        raise bad_request(f"{where} must be a non-empty address without spaces")
    problem = address_problem(value, state.currency(currency).chain, currency)
    if problem is not None:
        raise bad_request(f"{where}: {problem}")
    return value


def _execution_date(call: Call) -> str | None:
    given = call.payload.get("executionDate")
    if given is None:
        return None
    parse_iso(given, "payload.executionDate")
    return str(given)


def _new_withdrawal(state: State, payout: Record, address: str, amount: Decimal, fee: Decimal, **extra: Any) -> Record:
    data = payout.data
    withdrawal_id = state.next_id()
    record = Record(
        payout.account,
        _compact(
            {
                "id": withdrawal_id,
                "account": payout.account,
                "companyName": state.user["userFullInfo"]["companyName"],
                "amount": amount,
                "currency": data["currency"],
                "state": data["state"],
                "calypsoFee": fee,
                "depositAddress": address,
                "comment": extra.pop("comment", data.get("comment")),
                "createdDate": data["createdDate"],
                "withdrawalErrors": [],
                **extra,
            }
        ),
        extra={"payout": data["id"]},
    )
    state.withdrawals[withdrawal_id] = record
    payout.extra.setdefault("withdrawals", []).append(withdrawal_id)
    return record


def create(call: Call) -> Any:
    state = call.state
    key = call.text("idempotencyKey") or state.uuid()
    if key in state.payout_keys:
        raise duplicate_key("payout", key)
    currency = state.currency(call.require_str("currency")).code
    amount = call.amount("amount", currency)
    address = _check_address(state, call.payload.get("depositAddress"), "payload.depositAddress", currency)
    execution = _execution_date(call)
    fee = state.fee(amount, currency)
    state.debit(call.account, currency, amount + fee, f"payout of {amount} {currency} + fee {fee}")
    payout_id = state.next_id()
    data = _compact(
        {
            "id": payout_id,
            "account": call.account,
            "depositAddress": address,
            "amount": amount,
            "currency": currency,
            "fee": fee,
            "feePercentage": _FEE_PERCENT,
            "calypsoFee": fee,
            "calypsoFeePercentage": _FEE_PERCENT,
            "state": "CREATED",
            "createdDate": state.now_iso(),
            "comment": call.text("comment"),
            "executionDate": execution,
            "idempotencyKey": key,
            "belongingType": "EXTERNAL",
            "externalId": call.text("externalId"),
        }
    )
    record = Record(call.account, data)
    state.payouts[payout_id] = record
    state.payout_keys[key] = payout_id
    _new_withdrawal(state, record, address, amount, fee)
    return dict(data)


def create_mass(call: Call) -> Any:
    state = call.state
    key = call.text("idempotencyKey") or state.uuid()
    if key in state.payout_keys:
        raise duplicate_key("mass payout", key)
    currency = state.currency(call.require_str("currency")).code
    field = next((name for name in MASS_ITEM_FIELDS if call.payload.get(name) is not None), None)
    items = call.payload.get(field) if field else None
    if not isinstance(items, list) or not items:
        raise bad_request("payload.withdrawals is required: a non-empty list of {depositAddress, amount[, comment]}")
    valid: list[tuple[int, str, Decimal, str | None]] = []
    invalid: list[tuple[int, Any, Any, str]] = []
    for index, item in enumerate(items):
        where = f"payload.{field}[{index}]"
        try:
            if not isinstance(item, dict):
                raise bad_request(f"{where} must be an object")
            address = _check_address(
                state, item.get("depositAddress", item.get("address")), f"{where}.depositAddress", currency
            )
            amount = check_amount(state, item.get("amount"), f"{where}.amount", currency)
            if amount is None:
                raise bad_request(f"{where}.amount is required")
            comment = item.get("comment")
            valid.append((index, address, amount, None if comment is None else str(comment)))
        except ApiError as exc:
            raw = item if isinstance(item, dict) else {}
            invalid.append((index, raw.get("depositAddress", raw.get("address")), raw.get("amount"), exc.message))
    if not valid:
        raise bad_request("No valid withdrawals in the mass payout: " + "; ".join(msg for *_, msg in invalid))
    total = sum((amount for _, _, amount, _ in valid), Decimal(0))
    fees = [state.fee(amount, currency) for _, _, amount, _ in valid]
    fee_total = sum(fees, Decimal(0))
    state.debit(call.account, currency, total + fee_total, f"mass payout of {total} {currency} + fees {fee_total}")
    payout_id = state.next_id()
    data = _compact(
        {
            "id": payout_id,
            "account": call.account,
            "depositAddress": valid[0][1],
            "amount": total,
            "currency": currency,
            "fee": fee_total,
            "feePercentage": _FEE_PERCENT,
            "calypsoFee": fee_total,
            "calypsoFeePercentage": _FEE_PERCENT,
            "state": "CREATION_IN_PROGRESS",
            "createdDate": state.now_iso(),
            "comment": call.text("comment"),
            "name": call.text("name"),
            "idempotencyKey": key,
            "belongingType": "EXTERNAL",
            "errors": {"withdrawalErrors": []},
        }
    )
    record = Record(call.account, data, extra={"mass": True})
    state.payouts[payout_id] = record
    state.payout_keys[key] = payout_id
    for (_, address, amount, comment), fee in zip(valid, fees, strict=True):
        _new_withdrawal(state, record, address, amount, fee, comment=comment)
    for number, (index, address, amount, message) in enumerate(invalid, start=1):
        withdrawal = _new_withdrawal(
            state, record, str(address or ""), Decimal(0), Decimal(0), comment=f"item {index}: {amount}"
        )
        withdrawal.data["state"] = "FAILED"
        error = {"id": number, "status": "VALIDATION_ERROR", "errorResolved": False, "errorMessage": message}
        withdrawal.data["withdrawalErrors"].append(error)
        withdrawal.extra["failed"] = True
        data["errors"]["withdrawalErrors"].append({"withdrawalId": withdrawal.data["id"], "errors": [error]})
        state.emit(
            "PAYOUT_VALIDATION_ERROR",
            "PAYOUT",
            {
                "type": "PAYOUT_VALIDATION_ERROR",
                "parentExternalId": int(payout_id),
                "message": message,
                "idempotencyKey": key,
                "withdrawalId": withdrawal.data["id"],
            },
        )
    answer = dict(data)
    answer["withdrawals"] = [dict(state.withdrawals[w].data) for w in record.extra["withdrawals"]]
    return answer


def _find(state: State, call: Call, what: str) -> Record:
    wanted = call.text("id") or call.text("idempotencyKey") or ""
    payout_id = wanted if call.text("id") else state.payout_keys.get(wanted, "")
    record = state.payouts.get(payout_id)
    if record is None or record.account != call.account:
        raise not_found(f"{what} {wanted}")
    return record


def get(call: Call) -> Any:
    return dict(_find(call.state, call, "Payout").data)


def get_mass(call: Call) -> Any:
    record = _find(call.state, call, "Mass payout")
    if not record.extra.get("mass"):
        raise not_found(f"Mass payout {record.data['id']}")
    answer = dict(record.data)
    answer["withdrawals"] = [dict(call.state.withdrawals[w].data) for w in record.extra["withdrawals"]]
    return answer


def get_withdrawal(call: Call) -> Any:
    """``requestId``: a withdrawal id, or a payout's id or idempotencyKey (its first withdrawal)."""
    state = call.state
    wanted = call.require_str("requestId")
    record = state.withdrawals.get(wanted)
    if record is None:
        payout = state.payouts.get(state.payout_keys.get(wanted, wanted))
        if payout is not None and payout.extra.get("withdrawals"):
            record = state.withdrawals[payout.extra["withdrawals"][0]]
    if record is None or record.account != call.account:
        raise not_found(f"Withdrawal {wanted}")
    return dict(record.data)


def _announce(state: State, record: Record) -> None:
    data = record.data
    state.emit(
        "PAYOUT_CHANGE_STATUS",
        "PAYOUT",
        _compact(
            {
                "type": "PAYOUT_CHANGE_STATUS",
                "parentExternalId": int(data["id"]),
                "createdDate": data["createdDate"],
                "payoutStatus": data["state"],
                "idempotencyKey": data.get("idempotencyKey"),
                "currency": data["currency"],
                "externalId": data.get("externalId"),
                "hash": data.get("transactionHash"),
            }
        ),
    )


def _step(state: State, record: Record) -> bool:
    data = record.data
    current = data["state"]
    execution = data.get("executionDate")
    if current in _NEXT:
        if execution and parse_iso(execution, "executionDate") > state.now():
            return False
        data["state"] = _NEXT[current]
    elif current == "IN_PROGRESS":
        data["transactionHash"] = state.tx_hash(data["currency"])
        failed = any(state.withdrawals[w].extra.get("failed") for w in record.extra.get("withdrawals", []))
        data["state"] = "PARTIAL" if failed else "COMPLETED"
        state.emit(
            "PAYOUT_HASH_RECEIVED",
            "PAYOUT",
            {"type": "PAYOUT_HASH_RECEIVED", "parentExternalId": int(data["id"]), "hash": data["transactionHash"]},
        )
    else:
        return False
    for withdrawal_id in record.extra.get("withdrawals", []):
        withdrawal = state.withdrawals[withdrawal_id]
        if not withdrawal.extra.get("failed"):
            withdrawal.data["state"] = "COMPLETED" if data["state"] == "PARTIAL" else data["state"]
            if "transactionHash" in data:
                withdrawal.data["transactionHash"] = data["transactionHash"]
    _announce(state, record)
    return True


def advance_payouts(state: State, steps: int | None = None) -> int:
    """Advance every open payout one state per step (``None``: until nothing moves); returns the changes."""
    changes = 0
    done = 0
    while steps is None or done < steps:
        moved = sum(_step(state, record) for record in list(state.payouts.values()))
        done += 1
        changes += moved
        if not moved:
            break
    return changes


def advance_payout(state: State, id_or_key: str, steps: int | None = None) -> dict[str, Any]:
    """Advance one payout (by id or idempotencyKey) a state per step, the others staying where they are."""
    record = state.payouts.get(state.payout_keys.get(id_or_key, id_or_key))
    if record is None:
        raise UnknownObjectError(f"no payout with id or idempotencyKey {id_or_key!r}")
    done = 0
    while (steps is None or done < steps) and _step(state, record):
        done += 1
    return dict(record.data)


def fail_payout(state: State, id_or_key: str, message: str) -> dict[str, Any]:
    """Fail an open payout (as a network rejection would): refund amount + fee, emit the events."""
    record = state.payouts.get(state.payout_keys.get(id_or_key, id_or_key))
    if record is None:
        raise UnknownObjectError(f"no payout with id or idempotencyKey {id_or_key!r}")
    data = record.data
    if data["state"] in ("COMPLETED", "FAILED", "CANCELED", "PARTIAL"):
        raise ValueError(f"payout {data['id']} is already {data['state']}")
    state.credit(record.account, data["currency"], data["amount"] + data.get("fee", Decimal(0)))
    data["state"] = "FAILED"
    for withdrawal_id in record.extra.get("withdrawals", []):
        state.withdrawals[withdrawal_id].data["state"] = "FAILED"
    state.emit(
        "PAYOUT_VALIDATION_ERROR",
        "PAYOUT",
        {
            "type": "PAYOUT_VALIDATION_ERROR",
            "parentExternalId": int(data["id"]),
            "message": message,
            "idempotencyKey": data.get("idempotencyKey"),
        },
    )
    _announce(state, record)
    return dict(data)


# ------------------------------------------------------------------------------ settlement payouts


def seed(state: State) -> None:
    """A few completed settlement payouts (with withdrawals) on the default account."""
    account = next(iter(state.accounts))
    rng = state.rng
    for currency in ("USDT_TRX", "ETH", "BTC"):
        payout_id = state.uuid()
        key = state.uuid()
        amount = state.quantize(Decimal(rng.randint(1_000, 50_000)) / state.usd[currency], currency)
        service_fee = state.fee(amount, currency)
        network_fee = state.quantize(Decimal(rng.randint(1, 300)) / Decimal(100) / state.usd[currency], currency)
        address = state.address(currency)
        tx = state.tx_hash(currency)
        created = state.now_iso(-rng.randint(2, 30) * 86_400)
        data = {
            "id": payout_id,
            "account": account,
            "depositAddress": address,
            "amount": amount,
            "currency": currency,
            "fee": service_fee,
            "feePercentage": _FEE_PERCENT,
            "feeCurrency": currency,
            "calypsoFee": service_fee,
            "calypsoFeePercentage": _FEE_PERCENT,
            "calypsoFeeCurrency": currency,
            "blockchainFee": network_fee,
            "blockchainFeeCurrency": currency,
            "state": "COMPLETED",
            "createdDate": created,
            "transactionHash": tx,
            "comment": f"Settlement {currency}",
            "idempotencyKey": key,
        }
        state.settlement_payouts[payout_id] = Record(account, data)
        state.settlement_keys[key] = payout_id
        request_id = state.uuid()
        state.settlement_withdrawals[request_id] = Record(
            account,
            {
                "id": request_id,
                "account": account,
                "withdrawalId": rng.randint(10_000, 99_999),
                "amount": amount,
                "currency": currency,
                "state": "COMPLETED",
                "calypsoFee": service_fee,
                "calypsoFeeCurrency": currency,
                "blockchainFee": network_fee,
                "blockchainFeeCurrency": currency,
                "transactionHash": tx,
                "depositAddress": address,
            },
            extra={"payout": payout_id},
        )


def settlement_get(call: Call) -> Any:
    state = call.state
    wanted = call.text("id") or call.text("idempotencyKey") or ""
    payout_id = wanted if call.text("id") else state.settlement_keys.get(wanted, "")
    record = state.settlement_payouts.get(payout_id)
    if record is None or record.account != call.account:
        raise not_found(f"Settlement payout {wanted}")
    return dict(record.data)


def settlement_get_withdrawal(call: Call) -> Any:
    """``requestId``: a settlement withdrawal's id, or its settlement payout's id."""
    state = call.state
    wanted = call.require_str("requestId")
    record = state.settlement_withdrawals.get(wanted)
    if record is None:
        record = next((r for r in state.settlement_withdrawals.values() if r.extra.get("payout") == wanted), None)
    if record is None or record.account != call.account:
        raise not_found(f"Settlement withdrawal {wanted}")
    return dict(record.data)


HANDLERS: dict[str, Handler] = {
    "payouts.create": create,
    "payouts.create_mass": create_mass,
    "payouts.get": get,
    "payouts.get_mass": get_mass,
    "payouts.get_withdrawal": get_withdrawal,
    "settlement_payouts.get": settlement_get,
    "settlement_payouts.get_withdrawal": settlement_get_withdrawal,
}
