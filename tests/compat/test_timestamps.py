"""Timestamps parse the same on every supported Python (3.10's fromisoformat rejects 5-digit fractions and Z)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from calypso_async._model import converter
from calypso_async._timestamps import parse_iso_datetime
from calypso_async.webhooks import parse_event

moments = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(9998, 12, 30), timezones=st.just(timezone.utc)
)
offsets = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59)


def _offset_text(minutes: int, style: str) -> str:
    if minutes == 0 and style == "Z":
        return "Z"
    sign = "-" if minutes < 0 else "+"
    hh, mm = divmod(abs(minutes), 60)
    return f"{sign}{hh:02d}:{mm:02d}" if style == ":" else f"{sign}{hh:02d}{mm:02d}"


@given(moments, st.integers(min_value=1, max_value=9), offsets, st.sampled_from(["Z", ":", ""]))
def test_any_fraction_length_and_offset_parses_to_the_same_instant(
    moment: datetime, digits: int, minutes: int, style: str
) -> None:
    if style == "Z":
        minutes = 0
    local = moment.astimezone(timezone(timedelta(minutes=minutes)))
    fraction = f"{local.microsecond:06d}000"[:digits]
    text = local.strftime("%Y-%m-%dT%H:%M:%S") + "." + fraction + _offset_text(minutes, style)
    parsed = parse_iso_datetime(text)
    expected = moment.replace(microsecond=int(fraction[:6].ljust(6, "0")))
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(minutes=minutes)


@given(moments)
def test_isoformat_output_round_trips(moment: datetime) -> None:
    assert parse_iso_datetime(moment.isoformat()) == moment
    assert parse_iso_datetime(moment.replace(tzinfo=None).isoformat()) == moment  # naive means UTC


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2025-13-01T00:00:00Z",
        "2025-02-30",
        "2025-03-01T24:00:00Z",
        "2025-03-01T10:00:00.1234567890Z",
        "2025-03-01T10:00:00+25:00",
        "yesterday",
        "2025-03-01T10:00:00Zjunk",
        "２０２５-03-01",
    ],
)
def test_malformed_text_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        parse_iso_datetime(text)


def test_webhook_created_date_with_five_fraction_digits_is_kept() -> None:
    event = parse_event({"id": 7, "eventType": "INVOICE_PAID", "createdDate": "2025-03-01T10:00:00.12345Z"})
    assert event.created_date == datetime(2025, 3, 1, 10, 0, 0, 123450, tzinfo=timezone.utc)


def test_models_structure_short_fractions() -> None:
    assert converter.structure("2025-03-01T10:00:00.5+02:00", datetime) == datetime(
        2025, 3, 1, 8, 0, 0, 500000, tzinfo=timezone.utc
    )


@st.composite
def _grammar_texts(draw: st.DrawFn) -> str:
    """Any text of the accepted grammar, including dates the calendar refuses and out-of-range offsets."""
    text = f"{draw(st.integers(1, 9999)):04d}-{draw(st.integers(0, 13)):02d}-{draw(st.integers(0, 32)):02d}"
    if draw(st.booleans()):
        text += draw(st.sampled_from("Tt ")) + f"{draw(st.integers(0, 25)):02d}:{draw(st.integers(0, 60)):02d}"
        if draw(st.booleans()):
            text += f":{draw(st.integers(0, 61)):02d}"
            if draw(st.booleans()):
                text += draw(st.sampled_from(".,")) + draw(st.text("0123456789", min_size=1, max_size=9))
    zone = draw(st.sampled_from(["", "Z", "z", "+HH", "-HHMM", "+HH:MM"]))
    hours, minutes = f"{draw(st.integers(0, 25)):02d}", f"{draw(st.integers(0, 60)):02d}"
    return text + zone.replace("HH", hours).replace("MM", minutes)


def _outcome(text: str) -> object:
    try:
        parsed = parse_iso_datetime(text)
    except ValueError:
        return ValueError
    return parsed, parsed.utcoffset()


@given(_grammar_texts())
def test_the_fast_path_agrees_with_the_grammar_on_every_text(text: str) -> None:
    from calypso_async import _timestamps

    fast = _outcome(text)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_timestamps, "_fromisoformat", None)
        slow = _outcome(text)
    assert fast == slow
