"""``calypso_async.testing``: a fake Calypso Pay server for tests, demos and benchmarks.

Why ship it in the package: the SDK's own tests, the README demo, the benchmarks and users' tests all need a
server that signs, checks and misbehaves like the real one, on loopback and without credentials.

>>> async with FakeCalypso(seed=0) as server:  # doctest: +SKIP
...     async with server.client() as client:
...         account = await client.account.get()
...     server.inject("/api/v1/account", Fault.status(503))   # next call to that path answers 503
...     server.pay_invoice(invoice.id)                         # a customer pays: webhooks, balance credited

For sync code, ``with FakeCalypso.run_in_thread() as server:`` runs it on a private loop in a daemon thread;
pytest users can enable ``pytest_plugins = ["calypso_async.testing.pytest_plugin"]`` for fixtures, and
``python -m calypso_async.testing --port 8080`` serves it standalone.
"""

from ._faults import Fault
from ._server import FakeCalypso, RecordedRequest

__all__ = ["FakeCalypso", "Fault", "RecordedRequest"]
