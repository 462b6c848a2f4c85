"""Request signing: HMAC-SHA512 over the exact body bytes, lowercase hex.

Nothing but the body is signed (no method, path or headers), so the one rule that matters is that the
bytes signed are the bytes sent; :mod:`calypso_async._transport` guarantees that by signing and sending
the same ``bytes`` object.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["Signer", "keyed_hmac", "mask", "sign"]


def keyed_hmac(secret_key: str) -> hmac.HMAC:
    """HMAC-SHA512 keyed with ``secret_key``, fed nothing yet: ``.copy()`` it and ``update`` it with a body."""
    return hmac.new(secret_key.encode("utf-8"), digestmod=hashlib.sha512)


def sign(secret_key: str, body: bytes) -> str:
    """Return the ``Sign`` header for ``body`` (also what a webhook delivery's ``Sign`` must be).

    >>> sign("b823a6b9ea72408583cef9ec8d67fa52", b'{"timestamp":1}')[:12]
    'b16e9d45f49f'
    """
    mac = keyed_hmac(secret_key)
    mac.update(body)
    return mac.hexdigest()


def mask(value: str) -> str:
    """Show enough of a key to recognise it in logs, never enough to use it: ``c529…2430``."""
    if len(value) <= 8:
        return "***"
    return f"{value[:4]}…{value[-4:]}"


class Signer:
    """Holds the API key and the keyed HMAC state; its ``repr`` and ``str`` never show the secret.

    The secret itself is not kept: only HMAC's key schedule, done once (each signature copies that state
    instead of hashing the padded key again: a third less time per signature). The state is opaque, so no
    attribute of a client, and no frame local that holds one, contains the secret key.
    """

    __slots__ = ("_keyed", "api_key")

    def __init__(self, api_key: str, secret_key: str) -> None:
        self.api_key = api_key
        self._keyed = keyed_hmac(secret_key)  # never updated, so safe to share between threads

    def sign(self, body: bytes) -> str:
        mac = self._keyed.copy()
        mac.update(body)
        return mac.hexdigest()

    def headers(self, body: bytes) -> dict[str, str]:
        return {"Key": self.api_key, "Sign": self.sign(body), "Content-Type": "application/json"}

    def __repr__(self) -> str:
        return f"Signer(api_key={mask(self.api_key)!r}, secret_key='***')"

    __str__ = __repr__

    def __reduce__(self) -> str | tuple[object, ...]:  # pickling would copy the key state into places we do not control
        raise TypeError("Signer cannot be pickled")

    def __copy__(self) -> Signer:
        return self  # immutable: sharing it is safe, and no copy of the key state is made

    def __deepcopy__(self, memo: dict[int, object]) -> Signer:
        return self
