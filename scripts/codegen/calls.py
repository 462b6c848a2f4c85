"""What one generated method looks like to a caller: parameters, docstring, example; shared by the async
resources emitter and the sync emitter, so both surfaces say the same thing."""

from __future__ import annotations

from typing import Any

from .describe import Arg, OpDef
from .text import snake, wrap

EXAMPLE_VALUES: dict[str, str] = {
    "currency": '"USDT_TRX"',
    "source_currency": '"USDT_TRX"',
    "destination_currency": '"BTC"',
    "fiat_currency": '"EUR"',
    "deposit_address": '"TQ5...address"',
    "address": '"TQ5...address"',
    "description": '"Order #1001"',
    "url": '"https://example.com/hooks/calypso"',
    "type": '"CARD"',
    "direction": '"..."',
}

INFERRED_PATH = (
    "The path of this operation is not written out in Calypso's reference (it follows the pattern of its "
    "neighbours); if Calypso answers 404, ``client.request(path, payload)`` can call the right one."
)


def example_value(arg: Arg) -> str:
    if arg.name in EXAMPLE_VALUES:
        return EXAMPLE_VALUES[arg.name]
    if arg.annotation.startswith("Decimal"):
        return 'Decimal("10")'
    if arg.annotation == "int":
        return "1"
    if arg.annotation == "bool":
        return "True"
    if arg.annotation.startswith("Sequence"):
        return '["USDT_TRX"]' if "currenc" in arg.name else "[...]"
    if arg.annotation.startswith("datetime"):
        return '"2025-01-01T00:00:00Z"'
    if arg.name.endswith("id") or arg.name.endswith("_key"):
        return '"<id>"'
    return '"..."'


def example(op: OpDef, *, sync: bool) -> list[str]:
    shown = [a for a in op.args if a.required]
    if op.exactly_one_of:
        shown.append(next(a for a in op.args if a.wire == op.exactly_one_of[0]))
    call_args = ", ".join(f"{a.name}={example_value(a)}" for a in shown)
    head = f">>> {'' if sync else 'await '}client.{op.resource}.{op.method_name}("
    line = f"{head}{call_args})  # doctest: +SKIP"
    if len(line) + 8 <= 120:
        return [line]
    lines = [f"{head}  # doctest: +SKIP"]
    for a in shown:
        lines.append(f"...     {a.name}={example_value(a)},")
    lines.append("... )")
    return lines


def method_doc(op: OpDef, *, sync: bool) -> list[Any]:
    """Docstring paragraphs of ``client.<resource>.<method>`` (user-facing only: no provenance)."""
    paragraphs: list[Any] = [op.summary, f"``{op.http_method} {op.path}``."]
    if op.confidence == "inferred":
        paragraphs.append(INFERRED_PATH)
    if op.doc:
        paragraphs.append(op.doc)
    if op.exactly_one_of and "exactly one" not in op.doc.lower():
        one = " or ".join(f"``{snake(w)}``" for w in op.exactly_one_of)
        paragraphs.append(f"Pass exactly one of {one}.")
    if op.idempotency_field:
        key = snake(op.idempotency_field)
        text = (
            f"``{key}`` is generated (a UUID) when not given and reused unchanged on every retry, so retries "
            "cannot create a duplicate"
        )
        if op.lookup:
            text += (
                f"; when a retry meets a duplicate-key error the object is fetched with ``{op.lookup['operation']}``"
            )
        paragraphs.append(text + ".")
    if op.money_moving:
        if op.idempotency_field:
            paragraphs.append(
                "Moves funds. Keep the key: pass the same ``idempotency_key`` to resolve a call whose outcome is "
                "unknown (it is also set on the result and on errors)."
            )
        else:
            paragraphs.append(
                "Moves funds and has no idempotency field: it is never retried after the request may have "
                "reached Calypso; such a failure raises ``OutcomeUnknownError``; check the outcome before calling "
                "again."
            )
    elif op.no_blind_retry:
        paragraphs.append(
            "No idempotency field is documented: never retried after the request may have reached Calypso (a blind "
            "retry could create a duplicate); such a failure raises ``OutcomeUnknownError``."
        )
    if op.pagination:
        paragraphs.append(f"One page. ``client.{op.resource}.{op.iter_name}(...)`` walks every page lazily.")
    if op.extra_allowed:
        paragraphs.append(
            "``extra``: further payload fields in wire format (camelCase), for fields the reference does not "
            "document; named arguments win."
        )
    arg_lines = ["Args:"]
    for arg in op.args:
        desc = arg.doc or ("Required." if arg.required else "Optional.")
        lines = wrap(f"{arg.name}: {desc}", 16)
        arg_lines.append("    " + lines[0])
        arg_lines.extend("        " + line for line in lines[1:])
    if op.account:
        arg_lines.append("    account: Account to act on; defaults to the client's.")
    arg_lines.append("    timeout: Seconds per attempt; defaults to the client's.")
    arg_lines.append("    max_retries: Retries after the first attempt; defaults to the client's.")
    paragraphs.append(arg_lines)
    if op.response:
        paragraphs.append(f"Returns: :class:`~calypso_async.models.{op.response}`.")
    else:
        paragraphs.append("Returns: the decoded JSON answer (the reference does not document its shape).")
    paragraphs.append(example(op, sync=sync))
    return paragraphs


def iterator_doc(op: OpDef, *, sync: bool) -> list[Any]:
    pagination = op.pagination or {}
    number_field, size_field = (r.removeprefix("payload.") for r in pagination.get("request", [])[:2])
    loop = "for" if sync else "async for"
    return [
        f"Every item of ``{op.method_name}``, page after page: the auto-paging twin of :meth:`{op.method_name}`.",
        f"``{op.http_method} {op.path}``, one request per page, made lazily when the previous page is used up.",
        f"``page_size`` (1..1000, default 100) is sent as ``{size_field}``; pages are numbered from "
        f"``first_page`` (default 0: the reference does not say whether ``{number_field}`` is 0- or 1-based). "
        "Iteration stops at an empty or short page, or when ``total`` pages / ``totalElements`` items were read. "
        "Arguments are checked when iteration starts.",
        [f">>> {loop} item in client.{op.resource}.{op.iter_name}():  # doctest: +SKIP", "...     print(item)"],
    ]


def page_fields(op: OpDef) -> tuple[str, str]:
    """Wire names of (page number, page size) of a paged operation."""
    request = [r.removeprefix("payload.") for r in (op.pagination or {}).get("request", [])]
    return request[0], request[1]


def parameters(op: OpDef, *, iterator: bool = False) -> list[str]:
    """Parameter list (``self`` first) of the method, or of its ``iter_*`` twin."""
    args = op.args
    tail: list[str] = []
    if iterator:
        number_field, size_field = page_fields(op)
        args = [a for a in op.args if a.wire not in (number_field, size_field)]
        tail = ["page_size: int = DEFAULT_PAGE_SIZE", "first_page: int = 0"]
    elif op.extra_allowed:
        tail = ["extra: Mapping[str, Any] | None = None"]
    params = ["self", "*"]
    for arg in args:
        if arg.required:
            params.append(f"{arg.name}: {arg.annotation}")
        elif arg.annotation == "Any":
            params.append(f"{arg.name}: Any = None")
        else:
            params.append(f"{arg.name}: {arg.annotation} | None = None")
    params += tail
    if op.account:
        params.append("account: str | None = None")
    params += ["timeout: float | None = None", "max_retries: int | None = None"]
    return params


def forward(params: list[str]) -> str:
    """``a=a, b=b`` for every parameter but ``self`` and ``*``."""
    names = [p.split(":")[0].split("=")[0].strip() for p in params if p not in ("self", "*")]
    return ", ".join(f"{n}={n}" for n in names)
