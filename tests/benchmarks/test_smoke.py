"""Each benchmark runs for one tiny iteration, so that they cannot rot. No timing is asserted here."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("requests")
pytest.importorskip("httpx")

from benchmarks import run as runner
from benchmarks._common import ACCOUNT_BODY, CannedTransport, ServerProcess, Settings
from benchmarks.bench_structure import page_body


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with ServerProcess() as s:
        yield s


@pytest.mark.parametrize("name", list(runner.BENCHMARKS))
def test_benchmark_runs_one_tiny_iteration(name: str, server: ServerProcess) -> None:
    run, needs_server = runner.BENCHMARKS[name]
    results = run(Settings.tiny(), server if needs_server else None)
    assert results
    for r in results:
        assert r.baseline is not None and r.baseline > 0, r
        if r.value is not None:
            assert r.value > 0 and r.ratio is not None and r.ratio > 0, r
        else:
            assert r.note, r  # a missing subject says why
    assert runner.table(results).count("\n") == len(results) + 1


def test_server_answers_the_account_call_and_nothing_else(server: ServerProcess) -> None:
    import requests

    with requests.Session() as s:
        ok = s.post(server.url, data=b'{"timestamp":1}', headers={"Content-Type": "application/json"})
        assert ok.status_code == 200 and ok.content == ACCOUNT_BODY
        assert ok.headers["Date"].endswith(" GMT")
        assert int(ok.headers["Content-Length"]) == len(ACCOUNT_BODY)
        missing = s.post(server.base_url + "/api/v1/nope", data=b"{}")
        assert missing.status_code == 404


def test_account_body_is_realistic() -> None:
    body = json.loads(ACCOUNT_BODY, parse_float=str)
    assert len(body["balances"]) >= 5
    assert all(len(b["amount"].split(".")[1]) == 18 for b in body["balances"])


def test_page_body_has_the_requested_items() -> None:
    page = json.loads(page_body(3))
    assert len(page["result"]) == 3 and page["size"] == 3


async def test_canned_transport_keeps_the_date_current() -> None:
    transport = CannedTransport()
    first = await transport.send(None)
    assert first.status == 200 and first.body == ACCOUNT_BODY and "Date" in first.headers


def test_command_prints_the_table(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_file = tmp_path / "results.json"
    assert runner.main(["--quick", "cpu", "structure", "--json", str(out_file)]) == 0
    out = capsys.readouterr().out
    assert "| Benchmark |" in out and "client CPU per call" in out and "CPUs" in out
    saved = json.loads(out_file.read_text())
    assert saved["machine"]["python"] and len(saved["results"]) == 3


def test_command_refuses_an_unknown_benchmark() -> None:
    with pytest.raises(SystemExit):
        runner.main(["--quick", "nope"])


def test_profile_tool_runs(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks import profile_hot_path

    profile_hot_path.main(["--calls", "50", "--top", "3"])
    assert "function calls" in capsys.readouterr().out
