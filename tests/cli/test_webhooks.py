"""``webhooks verify`` (exit 5 on a bad signature) and ``webhooks listen`` (a real receiver, in a subprocess)."""

from __future__ import annotations

import hashlib
import hmac
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from calypso_async import _json
from calypso_async.cli import EXIT_BAD_SIGNATURE, EXIT_USAGE
from calypso_async.testing import FakeCalypso

from .conftest import Cli, cli_env, finish, read_until, spawn

SECRET = "whsec-test-0123456789abcdef"
BODY = (
    b'{"requestId":"5f0f6a1e-3c1b-4a8e-9d3f-2b7c1e0a9f11","id":42,"createdDate":"2025-03-01T10:00:00",'
    b'"level":"SUCCESS","service":"INVOICE","eventType":"INVOICE_PAID",'
    b'"data":{"type":"INVOICE_PAID","invoiceId":6004,"amount":0.0150,"currency":"ETH","externalId":"order-1042"}}'
)


def sign(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha512).hexdigest()


def saved(body: bytes, signature: str) -> bytes:
    return b"POST /hooks HTTP/1.1\r\nContent-Type: application/json\r\nSign: " + signature.encode() + b"\r\n\r\n" + body


# -------------------------------------------------------------------------------------------- verify


def test_verify_a_body_with_its_sign(clean_env: Path, cli: Cli) -> None:
    r = cli("webhooks", "verify", "--secret", SECRET, "--sign", sign(BODY), stdin=BODY)
    assert r.code == 0, r.err
    head = r.out.splitlines()[0]
    assert head.startswith("INVOICE_PAID  event 42  2025-03-01T10:00:00+00:00")
    assert "dedup 5f0f6a1e-3c1b-4a8e-9d3f-2b7c1e0a9f11:42" in head
    assert "0.0150" in r.out  # exact, as delivered
    assert "signature valid" in r.err
    assert SECRET not in r.all


def test_verify_a_saved_delivery_json(clean_env: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALYPSO_WEBHOOK_SECRET", SECRET)
    r = cli("webhooks", "verify", "--json", stdin=saved(BODY, sign(BODY).upper()))
    assert r.code == 0, r.err
    event = _json.loads(r.out)
    assert event["eventType"] == "INVOICE_PAID" and event["data"]["amount"] == _json.loads(b"0.0150")
    assert '"amount": 0.0150' in r.out


def test_verify_with_the_wrong_secret_exits_5(clean_env: Path, cli: Cli) -> None:
    r = cli("webhooks", "verify", "--secret", "not-the-secret", stdin=saved(BODY, sign(BODY)))
    assert r.code == EXIT_BAD_SIGNATURE
    assert r.out == ""
    assert r.err == "calypso: error: WebhookSignatureError: webhook 'Sign' header does not match the body\n"


def test_verify_a_tampered_body_or_missing_sign_exits_5(clean_env: Path, cli: Cli, tmp_path: Path) -> None:
    tampered = BODY.replace(b"0.0150", b"15.0")
    path = tmp_path / "delivery.http"
    path.write_bytes(saved(tampered, sign(BODY)))
    assert cli("webhooks", "verify", str(path), "--secret", SECRET).code == EXIT_BAD_SIGNATURE
    no_sign = b"POST / HTTP/1.1\r\nContent-Type: application/json\r\n\r\n" + BODY
    r = cli("webhooks", "verify", "--secret", SECRET, stdin=no_sign)
    assert r.code == EXIT_BAD_SIGNATURE and "no 'Sign' header" in r.err


def test_verify_usage_errors_exit_2(clean_env: Path, cli: Cli) -> None:
    r = cli("webhooks", "verify", "--sign", sign(BODY), stdin=BODY)
    assert r.code == EXIT_USAGE and "CALYPSO_WEBHOOK_SECRET" in r.err
    r = cli("webhooks", "verify", "--secret", SECRET, stdin=BODY)
    assert r.code == EXIT_USAGE and "--sign" in r.err
    assert cli("webhooks", "verify", "/nonexistent/file", "--secret", SECRET).code == EXIT_USAGE


def test_verify_a_signed_body_that_is_not_an_event_exits_1(clean_env: Path, cli: Cli) -> None:
    body = b'{"hello": "world"}'
    r = cli("webhooks", "verify", "--secret", SECRET, "--sign", sign(body), stdin=body)
    assert r.code == 1
    assert "WebhookPayloadError" in r.err


# -------------------------------------------------------------------------------------------- listen


def post(url: str, body: bytes, signature: str) -> int:
    request = urllib.request.Request(url, data=body, headers={"Sign": signature}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as err:
        err.close()
        return err.code


def test_listen_verifies_prints_and_saves(tmp_path: Path) -> None:
    save = tmp_path / "deliveries"
    proc = spawn(
        "webhooks", "listen", "--port", "0", "--path", "/hooks", "--max-deliveries", "1", "--save", str(save),
        env=cli_env(CALYPSO_WEBHOOK_SECRET=SECRET),
    )  # fmt: skip
    try:
        head = read_until(proc, "listening on")
        url = head.split("listening on ")[1].split()[0]
        assert url.startswith("http://127.0.0.1:") and url.endswith("/hooks")
        assert post(url, BODY, sign(BODY, "wrong")) == 400
        assert post(url, BODY, sign(BODY)) == 200
    finally:
        code, out, err = finish(proc)
    assert code == 0, err
    assert "INVOICE_PAID  event 42" in out and "order-1042" in out
    assert "rejected delivery from 127.0.0.1: bad signature" in err
    assert "stopped: 1 delivery(ies) accepted, 1 rejected" in err
    assert SECRET not in out + err
    files = sorted(p.name for p in save.iterdir())
    assert files == ["0001-rejected.http", "0002-INVOICE_PAID.http"]


def test_saved_deliveries_verify_again(tmp_path: Path, clean_env: Path, cli: Cli) -> None:
    save = tmp_path / "saved"
    proc = spawn(
        "webhooks", "listen", "--port", "0", "--max-deliveries", "1", "--save", str(save), "--json",
        env=cli_env(CALYPSO_WEBHOOK_SECRET=SECRET),
    )  # fmt: skip
    try:
        url = read_until(proc, "listening on").split("listening on ")[1].split()[0]
        assert post(url, BODY, sign(BODY)) == 200
    finally:
        code, out, err = finish(proc)
    assert code == 0, err
    assert _json.loads(out.splitlines()[-1])["id"] == "42"
    (delivery,) = save.iterdir()
    assert cli("webhooks", "verify", str(delivery), "--secret", SECRET).code == 0
    assert cli("webhooks", "verify", str(delivery), "--secret", "other").code == EXIT_BAD_SIGNATURE


def test_listen_subscribes_to_the_fake_server_and_receives_its_deliveries(
    env: FakeCalypso, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    proc = spawn(
        "webhooks", "listen", "--subscribe", "--port", "0", "--max-deliveries", "1",
        "--event", "INVOICE_CREATE_INVOICE",
        env=cli_env(
            CALYPSO_API_KEY=env.api_key, CALYPSO_SECRET_KEY=env.secret_key,
            CALYPSO_ACCOUNT=env.account_id, CALYPSO_BASE_URL=env.base_url,
        ),
    )  # fmt: skip
    try:
        read_until(proc, "listening on")
        (subscription,) = env.webhooks.subscriptions()
        assert subscription.event_types == ["INVOICE_CREATE_INVOICE"]
        created = cli("invoices", "create", "--amount", "0.5", "--currency", "ETH", "--description", "hook", "--json")
        assert created.code == 0, created.err
        invoice_id = _json.loads(created.out)["id"]
    finally:
        code, out, err = finish(proc)
    assert code == 0, err
    assert "INVOICE_CREATE_INVOICE" in out and str(invoice_id) in out
    assert f"as {subscription.request_id}" in err
    assert subscription.secret_key not in out + err and env.secret_key not in out + err
    assert env.webhooks.subscriptions() == []  # removed on exit


def test_listen_without_a_secret_exits_2(clean_env: Path, cli: Cli) -> None:
    r = cli("webhooks", "listen", "--port", "0")
    assert r.code == EXIT_USAGE and "CALYPSO_WEBHOOK_SECRET" in r.err
    r = cli("webhooks", "listen", "--port", "0", "--subscribe")
    assert r.code == EXIT_USAGE and "no API credentials" in r.err
