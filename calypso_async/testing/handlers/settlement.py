"""Settlement wallets, settlement reports and payout/invoice reports.

Why seeded history: these calls only read, so the fake seeds a couple of settlement wallets with a few dozen
transactions each (deterministic from the seed); reports are built from that history and from the payouts
and invoices created through the API, filtered by the requested period. The report ``data`` format is not
documented: here it is a list of row objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from .._call import Call, Handler
from .._http import bad_request, not_found, parse_iso
from .._paging import page
from .._state import Record, State

__all__ = ["HANDLERS", "seed"]

_OPCODES = ("WITHDRAWAL", "DEPOSIT")


def seed(state: State) -> None:
    """Two settlement wallets (TRON and Ethereum) with 30-50 transactions each, on the default account."""
    account = next(iter(state.accounts))
    rng = state.rng
    for name, currencies in (("Settlement TRON", ("USDT_TRX", "TRX")), ("Settlement Ethereum", ("ETH", "USDT_ERC20"))):
        chain = state.currencies[currencies[0]].chain
        address = state.address(currencies[0])
        balances = [
            {
                "currency": code,
                "amount": state.quantize(Decimal(rng.randint(1_000, 90_000)) / state.usd[code], code),
                "token": state.currencies[code].token,
            }
            for code in currencies
        ]
        state.settlement_wallets[address] = Record(
            account, {"name": name, "address": address, "blockchain": chain, "balances": balances}
        )
        count = rng.randint(30, 50)
        for index in range(count):
            code = rng.choice(currencies)
            fee_code = currencies[-1] if state.currencies[code].token else code
            amount = state.quantize(Decimal(rng.randint(50, 20_000)) / state.usd[code], code)
            state.settlement_transactions.append(
                Record(
                    account,
                    {
                        "amount": amount,
                        "currency": code,
                        "opCode": rng.choice(_OPCODES),
                        "addressTo": state.address(code),
                        "serviceFee": state.fee(amount, code),
                        "serviceFeeCurrency": code,
                        "networkFee": state.quantize(
                            Decimal(rng.randint(1, 200)) / Decimal(100) / state.usd[fee_code], fee_code
                        ),
                        "networkFeeCurrency": fee_code,
                        "transactionHash": state.tx_hash(code),
                        "createdDate": state.now_iso(-(count - index) * 3_600.0),
                    },
                    extra={"wallet": address},
                )
            )


def wallet_get(call: Call) -> Any:
    address = call.require_str("address")
    record = call.state.settlement_wallets.get(address)
    if record is None or record.account != call.account:
        raise not_found(f"Settlement wallet {address}")
    return dict(record.data)


def wallet_transactions(call: Call) -> Any:
    payload = call.payload
    wallet = call.text("walletAddress")
    address_to = call.text("addressTo")
    currency = call.text("currency")
    opcodes = payload.get("opcodes") or None
    if wallet is not None and wallet not in call.state.settlement_wallets:
        raise not_found(f"Settlement wallet {wallet}")
    found = [
        dict(record.data)
        for record in call.state.settlement_transactions
        if record.account == call.account
        and (wallet is None or record.extra["wallet"] == wallet)
        and (address_to is None or record.data["addressTo"] == address_to)
        and (currency is None or record.data["currency"] == currency)
        and (opcodes is None or record.data["opCode"] in opcodes)
    ]
    return page(found, payload)


def _period(call: Call) -> tuple[float, float]:
    first = call.payload.get("firstDate")
    last = call.payload.get("lastDate")
    start = parse_iso(first, "payload.firstDate") if first is not None else float("-inf")
    end = parse_iso(last, "payload.lastDate") if last is not None else float("inf")
    if start > end:
        raise bad_request("payload.firstDate must not be after payload.lastDate")
    return start, end


def _in_period(record: Record, start: float, end: float) -> bool:
    return start <= parse_iso(record.data["createdDate"], "createdDate") <= end


def _chains(call: Call) -> set[str] | None:
    text = call.text("blockchainList")
    if not text:
        return None
    return {part.strip().lower() for part in text.split(",") if part.strip()}


def _chain_ok(state: State, currency: str, chains: set[str] | None) -> bool:
    return chains is None or state.currencies[currency].chain in chains


def _reported(call: Call, records: Iterable[Record]) -> Iterator[Record]:
    """The caller's records created in the report's period, on the requested chains (all, without a list)."""
    start, end = _period(call)
    chains = _chains(call)
    for record in records:
        if (
            record.account == call.account
            and _in_period(record, start, end)
            and _chain_ok(call.state, record.data["currency"], chains)
        ):
            yield record


def _settlement_report(call: Call, opcode: str) -> Any:
    rows = [
        dict(record.data, walletAddress=record.extra["wallet"])
        for record in _reported(call, call.state.settlement_transactions)
        if record.data["opCode"] == opcode
    ]
    return {"data": rows}


def settlement_outgoing(call: Call) -> Any:
    return _settlement_report(call, "WITHDRAWAL")


def settlement_incoming(call: Call) -> Any:
    return _settlement_report(call, "DEPOSIT")


def report_payouts(call: Call) -> Any:
    fields = (
        "id",
        "createdDate",
        "currency",
        "amount",
        "fee",
        "state",
        "depositAddress",
        "transactionHash",
        "idempotencyKey",
        "externalId",
        "comment",
    )
    rows = [
        {name: record.data[name] for name in fields if name in record.data}
        for record in _reported(call, call.state.payouts.values())
    ]
    return {"data": rows}


def report_invoices(call: Call) -> Any:
    fields = (
        "id",
        "createdDate",
        "type",
        "currency",
        "amount",
        "fee",
        "state",
        "invoiceAddress",
        "idempotencyKey",
        "externalId",
        "description",
        "fiatAmount",
        "fiatCurrency",
    )
    rows = [
        {**{name: record.data[name] for name in fields if name in record.data}, "receivedAmount": record.received}
        for record in _reported(call, call.state.invoices.values())
    ]
    return {"data": rows}


HANDLERS: dict[str, Handler] = {
    "settlement_wallets.get": wallet_get,
    "settlement_wallets.find_transactions": wallet_transactions,
    "settlement_reports.outgoing": settlement_outgoing,
    "settlement_reports.incoming": settlement_incoming,
    "reports.payouts": report_payouts,
    "reports.invoices": report_invoices,
}
