"""ServerClock: learning the server's time from Date headers, anchored to the monotonic clock."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from email.utils import format_datetime

import pytest

from calypso_async._clock import ServerClock, parse_http_date


class FakeTime:
    def __init__(self, wall: float) -> None:
        self.wall_s = wall
        self.mono_s = 1000.0

    def wall(self) -> float:
        return self.wall_s

    def monotonic(self) -> float:
        return self.mono_s

    def advance(self, seconds: float) -> None:
        self.wall_s += seconds
        self.mono_s += seconds


def http_date(unix_s: float) -> str:
    return format_datetime(datetime.fromtimestamp(int(unix_s), tz=timezone.utc), usegmt=True)


def make() -> tuple[ServerClock, FakeTime]:
    t = FakeTime(1_700_000_000.0)
    return ServerClock(wall=t.wall, monotonic=t.monotonic), t


def test_before_any_answer_it_is_the_local_clock() -> None:
    clock, t = make()
    assert clock.now_ms() == int(t.wall_s * 1000)
    assert clock.offset_ms == 0.0
    assert not clock.synchronized


def test_learns_a_server_running_ahead() -> None:
    clock, t = make()
    server = t.wall_s + 240  # 4 minutes ahead
    assert clock.observe(http_date(server), t.mono_s, t.mono_s + 0.02)
    assert abs(clock.offset_ms - 240_000) < 1_100
    t.advance(10)
    assert abs(clock.now_ms() - (server + 10) * 1000) < 1_100


def test_a_consistent_estimate_does_not_jitter() -> None:
    clock, t = make()
    clock.observe(http_date(t.wall_s), t.mono_s, t.mono_s)
    first = clock.now_ms()
    for _ in range(5):
        t.advance(0.3)
        assert not clock.observe(http_date(t.wall_s), t.mono_s, t.mono_s)
    assert clock.now_ms() - first == 1500


def test_local_wall_clock_step_does_not_move_the_estimate() -> None:
    clock, t = make()
    clock.observe(http_date(t.wall_s), t.mono_s, t.mono_s)
    before = clock.now_ms()
    t.wall_s -= 3600  # NTP step / manual change: wall jumps, monotonic does not
    assert clock.now_ms() == before


def test_server_clock_jump_is_followed() -> None:
    clock, t = make()
    clock.observe(http_date(t.wall_s), t.mono_s, t.mono_s)
    assert clock.observe(http_date(t.wall_s - 300), t.mono_s, t.mono_s)
    assert abs(clock.offset_ms + 300_000) < 1_100


def test_force_reanchors() -> None:
    clock, t = make()
    clock.observe(http_date(t.wall_s), t.mono_s, t.mono_s)
    assert clock.observe(http_date(t.wall_s), t.mono_s, t.mono_s, force=True)


def test_missing_or_bad_date_is_ignored() -> None:
    clock, t = make()
    assert not clock.observe(None, t.mono_s, t.mono_s)
    assert not clock.observe("not a date", t.mono_s, t.mono_s)
    assert parse_http_date("Tue, 15 Nov 1994 08:12:31 GMT") == 784887151000.0


def test_large_offset_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    clock, t = make()
    with caplog.at_level(logging.WARNING, logger="calypso"):
        clock.observe(http_date(t.wall_s + 120), t.mono_s, t.mono_s)
        clock.observe(http_date(t.wall_s + 130), t.mono_s, t.mono_s)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "behind the server" in warnings[0].getMessage()
    assert "±180 s" in clock.describe_offset()
