"""PollerOptions: one frozen value for the async and sync pollers; keyword options stay accepted."""

from __future__ import annotations

import inspect

import attrs
import pytest

from calypso_async import AsyncCalypso, BalancePoller, PollerOptions
from calypso_sync import BalancePoller as SyncBalancePoller


def test_options_are_frozen_and_validated() -> None:
    options = PollerOptions(interval=15, concurrency=8)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        options.interval = 1.0  # type: ignore[misc]
    for bad in ({"interval": 0}, {"concurrency": 0}, {"timeout": -1}, {"jitter": 1.0}, {"max_slowdown": 0.5}):
        with pytest.raises(ValueError):
            PollerOptions(**bad)  # type: ignore[arg-type]


def test_options_and_keywords_combine() -> None:
    client = AsyncCalypso("k" * 32, "s" * 32, base_url="http://127.0.0.1:9")
    base = PollerOptions(interval=15, concurrency=8)
    assert BalancePoller(client, options=base).options is base
    merged = BalancePoller(client, options=base, timeout=3).options
    assert (merged.interval, merged.concurrency, merged.timeout) == (15.0, 8, 3.0)
    assert BalancePoller(client, interval=7).options == PollerOptions(interval=7)


def test_the_sync_poller_takes_the_same_options() -> None:
    async_options = set(inspect.signature(BalancePoller).parameters)
    sync_options = set(inspect.signature(SyncBalancePoller).parameters)
    option_names = {f.name for f in attrs.fields(PollerOptions)}
    assert option_names <= async_options and option_names <= sync_options
    assert not any(p.kind is p.VAR_KEYWORD for p in inspect.signature(SyncBalancePoller).parameters.values())
    poller = SyncBalancePoller(None, options=PollerOptions(interval=5), concurrency=4)
    assert poller.options == PollerOptions(interval=5, concurrency=4)
