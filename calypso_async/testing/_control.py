"""Control endpoints of the fake server: drive its world over HTTP from another process or language.

Why HTTP: the in-process helpers (``server.pay_invoice(...)``, ``server.inject(...)``) are out of reach of a
receiver written in Go, a docker-compose setup or a second Python process. These endpoints expose the same
helpers, unsigned, under ``/_fake/`` (a prefix the real API never uses). They answer only while the server is
bound to a loopback interface, unless they were enabled explicitly (``start(control=True)``); otherwise every
``/_fake/`` path answers 403. Requests to them are not recorded in ``server.requests`` and faults never apply.

========================================  ======================================================================
``GET  /_fake/state``                     accounts with balances, object counts, skew, pending faults, webhooks
``POST /_fake/invoices/{id}/pay``         ``{"amount"?, "currency"?}``: a customer pays (id or idempotencyKey)
``POST /_fake/payouts/advance``           ``{"steps"?}``: payouts move on (all the way without ``steps``)
``POST /_fake/payouts/{id}/advance``      ``{"steps"?}``: only that payout moves on; answers the payout
``POST /_fake/payouts/{id}/fail``         ``{"message"?}``: the network rejects the payout (refunded)
``POST /_fake/balances``                  ``{"currency", "amount", "account"?}``: set a balance exactly
``POST /_fake/faults``                    ``{"path"?, "kind", ...}``: queue a fault (:meth:`Fault.from_json`)
``DELETE /_fake/faults``                  drop every queued fault
``POST /_fake/webhooks/flush``            ``{"timeout"?}``: deliver pending webhooks and wait for them
``POST /_fake/clock``                     ``{"skew"}``: seconds the server clock runs ahead (negative: behind)
========================================  ======================================================================

Answers are JSON (amounts as exact numbers); errors use the API's shape ``{"errorCode", "message", "traceId"}``
with 400 (bad input), 404 (no such object) or 403 (control disabled).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .. import _json
from ._faults import Fault
from ._http import ApiError
from .handlers import payouts

if TYPE_CHECKING:
    from ._server import FakeCalypso

__all__ = ["CONTROL_PREFIX", "control_routes", "is_loopback"]

logger = logging.getLogger("calypso.testing")

CONTROL_PREFIX = "/_fake"

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (``127.0.0.0/8``, ``::1``)."""
    if host.strip().lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _bad(message: str) -> ApiError:
    return ApiError(400, "001", message)


def _seconds(value: float) -> Decimal:
    """A float of seconds as an exact JSON number (the JSON encoder refuses floats)."""
    return Decimal(repr(value))


def control_routes(server: FakeCalypso, enabled: bool) -> list[web.RouteDef]:
    """The ``/_fake/`` routes of ``server``; when not ``enabled`` each answers 403 without acting."""

    def endpoint(work: Callable[[dict[str, Any], web.Request], Any]) -> _Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            try:
                if not enabled:
                    raise ApiError(
                        403,
                        "000",
                        "Control endpoints are disabled: the server is not bound to loopback "
                        "(start it with control enabled to allow them)",
                    )
                body = await _body(request)
                result = work(body, request)
                if isinstance(result, Awaitable):
                    result = await result
            except ApiError as exc:
                return _answer(server, exc.status, {"errorCode": exc.error_code, "message": exc.message})
            except LookupError as exc:
                return _answer(server, 404, {"errorCode": "004", "message": _message(exc)})
            except (ValueError, TypeError, ArithmeticError) as exc:
                return _answer(server, 400, {"errorCode": "001", "message": _message(exc)})
            except Exception as exc:
                logger.exception("fake calypso: control endpoint %s failed", request.path)
                message = f"Internal error of the fake server ({type(exc).__name__})"
                return _answer(server, 500, {"errorCode": "000", "message": message})
            return _answer(server, 200, result)

        return handle

    def state(body: dict[str, Any], request: web.Request) -> Any:
        s = server.state
        return {
            "accounts": {account.id: dict(account.balances) for account in s.accounts.values()},
            "defaultAccount": server.account_id,
            "invoices": len(s.invoices),
            "payouts": len(s.payouts),
            "exchanges": len(s.exchanges),
            "customers": len(s.customers),
            "requests": len(server.requests),
            "pendingFaults": server.pending_faults,
            "skew": _seconds(server.skew),
            "webhooks": {
                "subscriptions": len(server.webhooks.subscriptions()),
                "events": len(server.webhooks.events),
                "deliveries": len(server.webhooks.deliveries),
            },
        }

    def pay_invoice(body: dict[str, Any], request: web.Request) -> Any:
        amount = _optional_amount(body, "amount")
        currency = _optional_str(body, "currency")
        return server.pay_invoice(request.match_info["id"], amount, currency=currency)

    def advance(body: dict[str, Any], request: web.Request) -> Any:
        steps = body.get("steps")
        if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 1):
            raise _bad(f"steps must be a whole number >= 1 (or absent: until nothing moves), got {steps!r}")
        if "id" in request.match_info:
            return payouts.advance_payout(server.state, request.match_info["id"], steps)
        return {"changes": server.advance_payouts(steps)}

    def fail(body: dict[str, Any], request: web.Request) -> Any:
        message = _optional_str(body, "message")
        payout_id = request.match_info["id"]
        if message is None:
            return server.fail_payout(payout_id)
        return server.fail_payout(payout_id, message)

    def set_balance(body: dict[str, Any], request: web.Request) -> Any:
        currency = body.get("currency")
        if not isinstance(currency, str) or not currency:
            raise _bad('currency is required (e.g. "USDT_TRX")')
        amount = _optional_amount(body, "amount")
        if amount is None:
            raise _bad("amount is required (a number or a decimal string)")
        account = _optional_str(body, "account") or server.account_id
        server.set_balance(account, currency, amount)
        return {"account": account, "currency": currency, "amount": server.balance(account, currency)}

    def add_fault(body: dict[str, Any], request: web.Request) -> Any:
        spec = dict(body)
        path = spec.pop("path", "*")
        if not isinstance(path, str) or not path:
            raise _bad('path must be an API path such as "/api/v1/account", or "*" for every path')
        server.inject(path, Fault.from_json(spec))
        return {"pendingFaults": server.pending_faults}

    def clear_faults(body: dict[str, Any], request: web.Request) -> Any:
        server.clear_faults()
        return {"pendingFaults": server.pending_faults}

    async def flush(body: dict[str, Any], request: web.Request) -> Any:
        timeout = body.get("timeout", 30)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, Decimal)) or not 0 < timeout <= 3600:
            raise _bad(f"timeout must be a number of seconds in (0, 3600], got {timeout!r}")
        before = len(server.webhooks.deliveries)
        try:
            await server.webhooks.wait_idle(float(timeout))
        except asyncio.TimeoutError:
            raise ApiError(504, "000", f"webhook deliveries still running after {timeout} s") from None
        return {"deliveries": len(server.webhooks.deliveries) - before}

    def clock(body: dict[str, Any], request: web.Request) -> Any:
        skew = body.get("skew")
        if isinstance(skew, bool) or not isinstance(skew, (int, Decimal)) or not abs(Decimal(skew)) <= 1_000_000_000:
            raise _bad(f"skew must be a number of seconds within ±1e9, got {skew!r}")
        server.set_skew(float(skew))
        return {"skew": _seconds(server.skew)}

    p = CONTROL_PREFIX
    return [
        web.get(f"{p}/state", endpoint(state), allow_head=False),
        web.post(p + "/invoices/{id}/pay", endpoint(pay_invoice)),
        web.post(f"{p}/payouts/advance", endpoint(advance)),
        web.post(p + "/payouts/{id}/advance", endpoint(advance)),
        web.post(p + "/payouts/{id}/fail", endpoint(fail)),
        web.post(f"{p}/balances", endpoint(set_balance)),
        web.post(f"{p}/faults", endpoint(add_fault)),
        web.delete(f"{p}/faults", endpoint(clear_faults)),
        web.post(f"{p}/webhooks/flush", endpoint(flush)),
        web.post(f"{p}/clock", endpoint(clock)),
        web.route("*", p + "/{tail:.*}", endpoint(_unknown)),
    ]


def _unknown(body: dict[str, Any], request: web.Request) -> Any:
    raise ApiError(404, "004", f"No control endpoint {request.method} {request.path}")


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        decoded = _json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise _bad("the body must be a JSON object") from None
    if not isinstance(decoded, dict):
        raise _bad("the body must be a JSON object")
    return decoded


def _optional_amount(body: dict[str, Any], name: str) -> Decimal | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
        raise _bad(f"{name} must be a number or a decimal string, got {value!r}")
    try:
        amount = Decimal(str(value).strip())
    except ArithmeticError:
        raise _bad(f"{name} is not a decimal amount: {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise _bad(f"{name} must be a finite amount >= 0, got {value!r}")
    return amount


def _optional_str(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _bad(f"{name} must be a string, got {value!r}")
    return value


def _message(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, KeyError) and text.startswith(("'", '"')):  # KeyError quotes its argument
        text = text[1:-1]
    return text or type(exc).__name__


def _answer(server: FakeCalypso, status: int, data: Any) -> web.Response:
    if status >= 400:
        data = {**data, "traceId": server._trace_id()}
    return web.Response(status=status, body=_json.dumps(data), content_type="application/json")
