"""Path parameters stay one segment of the operation's own path: dot segments are refused, the rest encoded."""

from __future__ import annotations

import re
from typing import Any

import pytest

from calypso_async import AsyncCalypso
from calypso_async.resources import OPERATIONS
from calypso_async.testing import MockTransport as StubTransport
from calypso_async.testing import json_response as ok

from .test_engine import ACCOUNT, API_KEY, SECRET

TEMPLATED = sorted(name for name, op in OPERATIONS.items() if "{" in op.path)
ARGUMENTS: dict[str, dict[str, Any]] = {
    "crypto_to_fiat.fix_rate": {"fiat_currency": "EUR", "currency": "USDT_TRX"},
    "crypto_to_fiat.get_limit": {"fiat_currency": "EUR"},
}


def test_every_templated_path_is_covered() -> None:
    assert TEMPLATED and set(TEMPLATED) <= set(ARGUMENTS), TEMPLATED


async def _call(name: str, value: str, transport: StubTransport) -> None:
    client = AsyncCalypso(API_KEY, SECRET, account=ACCOUNT, transport=transport)
    resource, method = name.split(".")
    params = {p: value for p in re.findall(r"{(\w+)}", OPERATIONS[name].path)}
    await getattr(getattr(client, resource), method)(**params, **ARGUMENTS[name])


@pytest.mark.parametrize("name", TEMPLATED)
@pytest.mark.parametrize("value", [".", ".."])
async def test_a_dot_segment_path_parameter_is_refused_and_nothing_is_sent(name: str, value: str) -> None:
    transport = StubTransport(default=ok({}))
    with pytest.raises(ValueError, match="dot segment"):
        await _call(name, value, transport)
    assert transport.requests == []


@pytest.mark.parametrize("name", TEMPLATED)
@pytest.mark.parametrize(
    ("value", "segment"), [("...", "..."), ("a/../b", "a%2F..%2Fb"), ("%2e%2e", "%252e%252e"), ("CARD", "CARD")]
)
async def test_other_path_parameters_stay_one_encoded_segment(name: str, value: str, segment: str) -> None:
    transport = StubTransport(default=ok({}))
    await _call(name, value, transport)
    template = OPERATIONS[name].path
    assert transport.requests[0].url.endswith(re.sub(r"{\w+}", segment, template))
