"""Sync facade throughput (``calypso_sync.Calypso``), 1 and 8 threads, vs ``requests.Session`` and ``httpx.Client``.

Baselines are hand-rolled clients doing the same work per call (fresh-timestamp envelope, ``hmac`` signature,
post, status check, ``json.loads``). With several threads calypso shares one client (as its README says to);
``requests`` gets one ``Session`` per thread (a ``Session`` is not documented as thread-safe) and ``httpx`` one
shared ``Client`` (documented as thread-safe).
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from benchmarks._common import (
    ACCOUNT,
    API_KEY,
    SECRET,
    Result,
    Sample,
    ServerProcess,
    Settings,
    compare,
    hand_signed,
    rotate,
)

GROUP = "sync"

Call = Callable[[], Any]


def threaded_throughput(calls: Sequence[Call], duration: float) -> Sample:
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
    cpu = time.process_time()
    start = clock()
    deadline[0] = start + duration
    start_line.wait()
    for t in threads:
        t.join()
    elapsed = clock() - start
    if errors:
        raise errors[0]
    total = sum(counts)
    return Sample(total / elapsed, (time.process_time() - cpu) / max(total, 1))


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
            runs: dict[str, list[Call]] = {"requests": req_calls[:n], "httpx": [hx_one] * n}
            if subject is not None:
                runs["calypso"] = [subject] * n
            for calls in runs.values():
                threaded_throughput(calls, warm)
            samples = rotate(
                {
                    name: lambda calls=calls: threaded_throughput(calls, settings.duration)  # type: ignore[misc]
                    for name, calls in runs.items()
                },
                settings.rounds,
            )
            for base, base_name, target in (
                ("requests", "requests.Session", 1.0 if n == 1 else 2.0),
                ("httpx", "httpx.Client", None),
            ):
                row = f"sync account.get, {label}"
                if subject is None:
                    results.append(
                        Result(
                            GROUP,
                            row,
                            None,
                            statistics.median(x.value for x in samples[base]),
                            "calls/s",
                            f"{base_name}, hand-signed",
                            higher_is_better=True,
                            target=target,
                            note="calypso_sync.Calypso does not exist yet",
                        )
                    )
                    continue
                results.append(
                    compare(
                        GROUP,
                        row,
                        samples["calypso"],
                        samples[base],
                        unit="calls/s",
                        baseline_name=f"{base_name}, hand-signed",
                        higher_is_better=True,
                        target=target,
                    )
                )
    finally:
        if client is not None:
            client.close()
        hx.close()
        for s in sessions:
            s.close()
    return results
