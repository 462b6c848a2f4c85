"""What the client needs to know about one API operation.

Every fact here comes from the vendored spec (``calypso_async/_spec/openapi.json``): the generator turns each
operation into an ``Operation`` constant in its resource module, so fixing an operation is a spec edit plus
``python -m scripts.codegen``. The engine (``_base_client.py``) reads only these objects, never a table keyed
by name.
"""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

import attrs

__all__ = ["Lookup", "Operation"]

T = TypeVar("T")


@attrs.frozen
class Lookup:
    """How to find the object a create made, by the key it was created with (``x-idempotent-lookup``).

    ``operation`` is called with ``{field: key}``; when ``in_list`` is set, ``operation`` is a list call (no
    payload) and the object is the item of that attribute whose ``field`` equals the key.
    """

    operation: Operation[Any]
    field: str
    in_list: str | None = None


@attrs.frozen
class Operation(Generic[T]):
    """One operation: ``client.<resource>.<method_name>``, answering a ``T``.

    >>> Operation(name="things.get", method="POST", path="/api/v1/thing", account=True, payload="required")
    ... # doctest: +SKIP
    """

    name: str
    """``resource.method_name``, as in operations.json."""
    method: str
    path: str
    """May hold ``{param}`` placeholders (``/api/v1/c2f/order/{type}/rate``)."""
    account: bool
    """The envelope carries ``account``."""
    payload: Literal["required", "optional", "none"]
    response: type[T] | None = None
    """Model class the answer is structured into; ``None`` returns the decoded JSON, ``bytes`` the body as received."""
    idempotency_field: str | None = None
    """Payload field that makes a create unique (``idempotencyKey``)."""
    money_moving: bool = False
    """``x-money-moving``: moves funds."""
    blind_retry: bool = True
    """False (``x-no-blind-retry``, or money-moving without an idempotency field): retried only when the
    request provably never left; an ambiguous failure raises ``OutcomeUnknownError``."""
    lookup: Lookup | None = None
    """``x-idempotent-lookup``: where a keyed create's object is found when a retry meets "duplicate key"."""
    raw: bool = False
    """The ``client.request()`` escape hatch: the payload and account go out as given, and an ambiguous failure
    is raised as it is (calypso cannot know whether the path moves money)."""
