"""``calypso_async.testing``: a fake Calypso Pay server for tests, demos and benchmarks.

Why it ships in the package: the SDK's own tests, the README demo, the benchmarks and users' own tests all need
a server that signs, checks and misbehaves like the real one, on loopback, deterministic, without credentials.

>>> async with FakeCalypso(seed=0) as server, server.client() as client:  # doctest: +SKIP
...     invoice = await client.invoices.create_single(amount=Decimal("0.01"), currency="ETH", description="x")
...     server.pay_invoice(invoice.id)                          # a customer pays: webhooks, balance credited
...     server.inject("/api/v1/account", Fault.status(503))    # the next call to that path answers 503

What it does:

* checks every request like the reference: ``Key`` (401/002), ``Sign`` (401/003), ``timestamp`` within
  ±180 s of its own clock (011), envelope (001/004) and the payload against the vendored spec (001);
  answers carry a ``Date`` header from its clock (``skew=`` / ``set_skew``) and errors a ``traceId``;
* serves all 55 operations with coherent, seeded data (``seed=``): balances move with payouts, exchanges and
  paid invoices; ``server.requests`` records every request (raw body, headers, status);
* faults on demand: ``server.inject(path_or_"*", Fault.status/html/delay/drop/drop_after_processing/
  malformed/empty/truncated/wrong_content_type/skew_jump(...))``;
* drives the world for tests: ``pay_invoice``, ``select_widget_currency``, ``advance_payouts``, ``fail_payout``,
  ``add_purse_transactions``, ``deposit_to_purse``, ``set_balance``/``balance``; state changes emit webhooks
  through ``server.webhooks``.

Choices where the reference is silent: paging is 0-based (``pageSize`` 1..1000, default 20); a reused
``idempotencyKey`` is refused with 016; the mass-payout recipients go in ``withdrawals`` (or ``payouts``,
``recipients``, ``items``) as ``{depositAddress, amount}``; the exchange limit is in the ``amount`` field.

Without a server: ``MockTransport(answer, ...)`` answers the client's requests in memory from a script (a
``Response``, an exception to raise, a function of the request, or a JSON body) and records them, for tests
of exactly what the client sends and how it reacts to one answer.

For sync code, ``with FakeCalypso.run_in_thread() as server:`` runs it on a private loop in a daemon thread
(the helper methods may be called from any thread); pytest users enable
``pytest_plugins = ["calypso_async.testing.pytest_plugin"]``; ``python -m calypso_async.testing --port 8080``
serves it standalone.
"""

from ._errors import FakeArgumentError, FakeServerError, FakeServerStateError, UnknownObjectError
from ._faults import Fault
from ._mock import MockTransport, error_response, json_response
from ._server import FakeCalypso, RecordedRequest
from ._webhooks import DeliveryAttempt, Subscription, WebhookDispatcher, build_delivery

__all__ = [
    "DeliveryAttempt",
    "FakeArgumentError",
    "FakeCalypso",
    "FakeServerError",
    "FakeServerStateError",
    "Fault",
    "MockTransport",
    "RecordedRequest",
    "Subscription",
    "UnknownObjectError",
    "WebhookDispatcher",
    "build_delivery",
    "error_response",
    "json_response",
]
