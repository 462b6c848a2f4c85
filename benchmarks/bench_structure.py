"""Structuring a large answer: a 1,000-item customer-purse transaction page, time and memory.

The model is the generated ``calypso_async.models.PGTransactionPage`` when it exists; until then a stand-in
declared here exactly the way the generator declares models (``Model`` base, ``field()`` wire names,
``OpenEnum`` states, ``Decimal`` amounts, aware ``datetime``). The baseline is plain ``json.loads`` of the same
bytes (dicts, float amounts): what the page costs before calypso makes it exact and typed.
"""

from __future__ import annotations

import gc
import json
import random
import statistics
import time
import tracemalloc
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs

from benchmarks._common import Result, Sample, ServerProcess, Settings, compare, rotate
from calypso_async._model import Model, OpenEnum, field

GROUP = "structure"


class TransactionState(OpenEnum):
    MEM_POOL_FOUND = "MEM_POOL_FOUND"
    PENDING_COMPLIANCE_CHECK = "PENDING_COMPLIANCE_CHECK"
    DECLINED = "DECLINED"
    CONFIRMED = "CONFIRMED"


class ComplianceState(OpenEnum):
    UNCHECKED = "UNCHECKED"
    IN_PROGRESS = "IN_PROGRESS"
    DECLINE = "DECLINE"
    CHECKED = "CHECKED"


@attrs.define(kw_only=True)
class StandInTransaction(Model):
    """Stand-in for the generated ``PGTransactionDTO`` (same fields, same declarations)."""

    id: str | None = field("id")
    amount: Decimal | None = field("amount")
    address_from: str | None = field("addressFrom")
    currency: str | None = field("currency")
    transaction_hash: str | None = field("transactionHash")
    transaction_state: TransactionState | None = field("transactionState")
    compliance_state: ComplianceState | None = field("complianceState")
    translation_to_account_completed: bool | None = field("translationToAccountCompleted")
    created_date: datetime | None = field("createdDate")


@attrs.define(kw_only=True)
class StandInTransactionPage(Model):
    """Stand-in for the generated ``PGTransactionPage``."""

    result: list[StandInTransaction] | None = field("result")
    page: int | None = field("page")
    size: int | None = field("size")
    total: int | None = field("total")
    total_elements: int | None = field("totalElements")


def page_model() -> tuple[type[Any], str]:
    """The model to structure into, and its name for the table."""
    try:
        from calypso_async.models import PGTransactionPage  # type: ignore[attr-defined,import-not-found,unused-ignore]
    except ImportError:
        return StandInTransactionPage, "stand-in PGTransactionPage"
    return PGTransactionPage, "PGTransactionPage"


_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def page_body(items: int, seed: int = 7) -> bytes:
    """A realistic page of ``items`` deposits (18-decimal amounts, hashes, ISO dates), as the server sends it."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    states = ["MEM_POOL_FOUND", "PENDING_COMPLIANCE_CHECK", "DECLINED", "CONFIRMED"]
    compliance = ["UNCHECKED", "IN_PROGRESS", "DECLINE", "CHECKED"]
    rows = []
    for i in range(items):
        amount = f"{rng.randrange(0, 10**6)}.{rng.randrange(0, 10**18):018d}"
        created = (
            (start + timedelta(seconds=37 * i, microseconds=rng.randrange(10**6))).isoformat().replace("+00:00", "Z")
        )
        ident = uuid.UUID(int=rng.getrandbits(128), version=4)
        address = "T" + "".join(rng.choice(_BASE58) for _ in range(33))
        tx_hash = f"{rng.getrandbits(256):064x}"
        completed = "true" if i % 3 else "false"
        rows.append(
            f'{{"id":"{ident}","amount":{amount},"addressFrom":"{address}","currency":"USDT_TRX",'
            f'"transactionHash":"{tx_hash}","transactionState":"{states[i % 4]}",'
            f'"complianceState":"{compliance[i % 4]}","translationToAccountCompleted":{completed},'
            f'"createdDate":"{created}"}}'
        )
    result = ",".join(rows)
    return f'{{"result":[{result}],"page":0,"size":{items},"total":3,"totalElements":{3 * items}}}'.encode()


def _retained_bytes(build: Any) -> tuple[float, float]:
    """(bytes still allocated while the result is held, peak bytes while building it), via tracemalloc."""
    gc.collect()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        result = build()
        after, peak = tracemalloc.get_traced_memory()
        del result
    finally:
        tracemalloc.stop()
    return after - before, peak - before


def run(settings: Settings, server: ServerProcess | None = None) -> list[Result]:
    from calypso_async import _json
    from calypso_async._model import converter

    model, model_name = page_model()
    body = page_body(settings.page_items)
    loads, structure, dec_loads = json.loads, converter.structure, _json.loads

    page = structure(dec_loads(body), model)
    assert len(page.result) == settings.page_items and not page.extra, page.extra
    first = page.result[0]
    assert isinstance(first.amount, Decimal) and isinstance(first.created_date, datetime), first
    assert not first.extra, first.extra

    reps = 1 if settings.quick else 5

    def timed(fn: Any) -> Sample:
        start = time.process_time()
        for _ in range(reps):
            fn()
        return Sample((time.process_time() - start) / reps)

    def subject() -> Any:
        return structure(dec_loads(body), model)

    def baseline() -> Any:
        return loads(body)

    for _ in range(1 if settings.quick else 3):
        subject()
        baseline()
    data = dec_loads(body)
    samples = rotate(
        {
            "subject": lambda: timed(subject),
            "baseline": lambda: timed(baseline),
            "decode": lambda: timed(lambda: dec_loads(body)),
            "structure": lambda: timed(lambda: structure(data, model)),
        },
        settings.rounds,
    )
    decode_only = statistics.median(s.value for s in samples["decode"])
    structure_only = statistics.median(s.value for s in samples["structure"])
    med_s = statistics.median(s.value for s in samples["subject"])

    mem_s, peak_s = _retained_bytes(subject)
    mem_b, peak_b = _retained_bytes(baseline)
    items = settings.page_items
    return [
        compare(
            GROUP,
            f"decode + structure {items:,}-item {model_name}",
            samples["subject"],
            samples["baseline"],
            unit="ms",
            baseline_name="json.loads (plain dicts)",
            higher_is_better=False,
            scale=1e3,
            note=(
                f"exact decode {decode_only * 1e3:.2f} ms + structure {structure_only * 1e3:.2f} ms; "
                f"{med_s / items * 1e6:.1f} µs/item"
            ),
        ),
        Result(
            GROUP,
            f"memory held by the {items:,}-item page",
            mem_s / 2**20,
            mem_b / 2**20,
            "MiB",
            "json.loads (plain dicts)",
            higher_is_better=False,
            note=f"peak while building {peak_s / 2**20:.2f} MiB vs {peak_b / 2**20:.2f} MiB; body "
            f"{len(body) / 2**20:.2f} MiB",
        ),
    ]
