"""Sync facade throughput (``calypso_sync.Calypso``), 1 and 8 threads, vs ``requests.Session`` and ``httpx.Client``.

Baselines are hand-rolled clients doing the same work per call (fresh-timestamp envelope, ``hmac`` signature,
post, status check, ``json.loads``). With several threads calypso shares one client (as its README says to);
``requests`` gets one ``Session`` per thread (a ``Session`` is not documented as thread-safe) and ``httpx`` one
shared ``Client`` (documented as thread-safe).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from benchmarks._common import ACCOUNT, API_KEY, SECRET, Result, ServerProcess, Settings, hand_signed, paired

GROUP = "sync"

Call = Callable[[], Any]


def threaded_throughput(calls: Sequence[Call], duration: float) -> float:
    """Calls per second with one thread per entry of ``calls``, each calling back to back for ``duration`` s."""
    clock = time.perf_counter
    counts = [0] * len(calls)
    errors: list[BaseException] = []
    start_line = threading.Barrier(len(calls) + 1)
    deadline = [0.0]

    def worker(index: int, call: Call) -> None:
        start_line.wait()
        end = deadline[0]
        n = 0
        try:
            while clock() < end:
                call()
                n += 1
        except BaseException as exc:  # reported by the caller
            errors.append(exc)
        counts[index] = n

    threads = [threading.Thread(target=worker, args=(i, c), daemon=True) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    start = clock()
    deadline[0] = start + duration
    start_line.wait()
    for t in threads:
        t.join()
    elapsed = clock() - start
    if errors:
        raise errors[0]
    return sum(counts) / elapsed


def requests_call(session: Any, url: str) -> Call:
    def call() -> Any:
        body, headers = hand_signed()
        resp = session.post(url, data=body, headers=headers)
        if resp.status_code != 200:
            raise RuntimeError(f"baseline got HTTP {resp.status_code}")
        return json.loads(resp.content)

    return call


def httpx_call(client: Any, url: str) -> Call:
    def call() -> Any:
        body, headers = hand_signed()
        resp = client.post(url, content=body, headers=headers)
        if resp.status_code != 200:
            raise RuntimeError(f"baseline got HTTP {resp.status_code}")
        return json.loads(resp.content)

    return call


def sync_client_class() -> Any:
    """``calypso_sync.Calypso``, or None while the sync facade does not exist yet."""
    try:
        import calypso_sync
    except ImportError:
        return None
    return getattr(calypso_sync, "Calypso", None)


def run(settings: Settings, server: ServerProcess | None = None) -> list[Result]:
    assert server is not None, "the sync benchmark needs the canned server"
    import httpx
    import requests

    url = server.url
    results: list[Result] = []
    max_threads = max(settings.threads)
    sessions = [requests.Session() for _ in range(max_threads)]
    hx = httpx.Client(limits=httpx.Limits(max_connections=max(100, max_threads)))
    calypso_cls = sync_client_class()
    client = (
        calypso_cls(API_KEY, SECRET, account=ACCOUNT, base_url=server.base_url) if calypso_cls is not None else None
    )
    try:
        req_calls = [requests_call(s, url) for s in sessions]
        hx_one = httpx_call(hx, url)
        assert req_calls[0]()["account"] == ACCOUNT
        assert hx_one()["account"] == ACCOUNT
        subject: Call | None = None
        if client is not None:
            subject = client.account.get
            answer = subject()
            assert answer.account == ACCOUNT and answer.balances and len(answer.balances) == 8, answer
        warm = min(0.2, settings.duration)
        for n in settings.threads:
            label = "single-threaded" if n == 1 else f"{n} threads"
            req_n = req_calls[:n]
            hx_n = [hx_one] * n
            threaded_throughput(req_n, warm)
            threaded_throughput(hx_n, warm)
            if subject is None:
                med_r, med_h, ratio, spread = paired(
                    lambda calls=req_n: threaded_throughput(calls, settings.duration),  # type: ignore[misc]
                    lambda calls=hx_n: threaded_throughput(calls, settings.duration),  # type: ignore[misc]
                    settings.rounds,
                )
                for base_name, base_value in (("requests.Session", med_r), ("httpx.Client", med_h)):
                    results.append(
                        Result(
                            GROUP, f"sync account.get, {label}", None, base_value, "calls/s",
                            f"{base_name}, hand-signed", higher_is_better=True,
                            note="calypso_sync.Calypso does not exist yet",
                        )
                    )
                continue
            sub_n = [subject] * n
            threaded_throughput(sub_n, warm)
            for base_name, base_calls, target in (
                ("requests.Session", req_n, 1.0 if n == 1 else 2.0),
                ("httpx.Client", hx_n, None),
            ):
                med_s, med_b, ratio, spread = paired(
                    lambda calls=sub_n: threaded_throughput(calls, settings.duration),  # type: ignore[misc]
                    lambda calls=base_calls: threaded_throughput(calls, settings.duration),  # type: ignore[misc]
                    settings.rounds,
                )
                results.append(
                    Result(
                        GROUP, f"sync account.get, {label}", med_s, med_b, "calls/s", f"{base_name}, hand-signed",
                        higher_is_better=True, ratio=ratio, spread=spread, target=target,
                    )
                )
    finally:
        if client is not None:
            client.close()
        hx.close()
        for s in sessions:
            s.close()
    return results
