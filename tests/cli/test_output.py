"""Formatting: Decimals exact in tables and JSON, numeric columns aligned, progress on terminals and in logs."""

from __future__ import annotations

import argparse
import io
import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from calypso_async import _json
from calypso_async.cli._base import amount_arg, iso_datetime
from calypso_async.cli._output import Progress, dumps_json, format_amount, render_kv, render_table
from calypso_async.cli.webhooks import parse_http_message
from calypso_async.models import AccountBalance


def test_amounts_never_use_exponents() -> None:
    assert format_amount(Decimal("1E-8")) == "0.00000001"
    assert format_amount(Decimal("1E+3")) == "1000"
    assert format_amount(Decimal("0.500")) == "0.500"
    assert format_amount(7) == "7"


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_json_numbers_round_trip_exactly(value: Decimal) -> None:
    text = dumps_json({"amount": value, "list": [value]})
    back = _json.loads(text)
    assert back["amount"] == value and back["list"] == [value]
    assert format(value, "f") in text and "E" not in text
    json.loads(text)  # plain JSON too (a bare number, not a string)


def test_json_of_models_uses_wire_names() -> None:
    text = dumps_json(AccountBalance(currency="BTC", amount=Decimal("0.10")))
    assert text == '{\n  "currency": "BTC",\n  "amount": 0.10\n}'
    assert dumps_json([]) == "[]" and dumps_json({}) == "{}"


def test_table_aligns_numbers_on_the_point() -> None:
    lines = render_table(
        ["CURRENCY", "AMOUNT", "NOTE"],
        [["BTC", Decimal("0.00000001"), "a"], ["TRX", Decimal("746343.07"), None], ["ETH", None, "c"]],
    )
    points = {line.index(".") for line in lines[1:3]}
    assert len(points) == 1
    assert lines[3].split() == ["ETH", "-", "c"]
    assert lines[1].startswith("BTC") and lines[1].rstrip().endswith("a")


def test_kv_leaves_out_missing_values() -> None:
    assert render_kv([("id", "1"), ("comment", None), ("amount", Decimal("2.50"))]) == ["id      1", "amount  2.50"]


def test_amount_argument_is_exact() -> None:
    assert amount_arg("0.1") == Decimal("0.1")
    assert amount_arg("1e-18") == Decimal("1E-18")
    assert amount_arg("1_000.5") == Decimal("1000.5")


def test_iso_datetime_argument_is_checked_and_kept_as_written() -> None:
    assert iso_datetime("2025-03-01T10:00:00Z") == "2025-03-01T10:00:00Z"
    assert iso_datetime("2025-03-01T10:00:00+02:00") == "2025-03-01T10:00:00+02:00"
    with pytest.raises(argparse.ArgumentTypeError):
        iso_datetime("next tuesday")


def test_progress_on_a_terminal_rewrites_one_line() -> None:
    stream = io.StringIO()
    progress = Progress(stream, tty=True)
    progress.update("page 1")
    progress.update("page 2")
    progress.done("done")
    assert stream.getvalue() == "\r\x1b[Kpage 1\r\x1b[Kpage 2\r\x1b[Kdone\n"


def test_progress_in_a_log_prints_lines_and_quiet_prints_nothing() -> None:
    stream = io.StringIO()
    progress = Progress(stream, tty=False)
    progress.update("page 1")
    progress.done("done")
    assert stream.getvalue() == "page 1\ndone\n"
    silent = io.StringIO()
    quiet = Progress(silent, enabled=False)
    quiet.update("x")
    quiet.done("y")
    assert silent.getvalue() == ""


def test_saved_delivery_parsing() -> None:
    headers, body = parse_http_message(b'POST /hook HTTP/1.1\r\nSign: ab\r\nKey: k\r\n\r\n{"id":1}\r\n')
    assert headers == {"Sign": "ab", "Key": "k"}
    assert body == b'{"id":1}\r\n'  # the body is kept byte for byte
    headers, body = parse_http_message(b"Sign: cd\n\n{}")
    assert headers == {"Sign": "cd"} and body == b"{}"
