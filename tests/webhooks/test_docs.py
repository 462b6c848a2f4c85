"""docs/webhooks.md: every Python example compiles, every calypso name it imports exists, and the aiohttp
example really serves (its app answers a signed delivery with 200)."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "webhooks.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text("utf-8"), flags=re.S)


def test_doc_has_async_and_sync_receiver_examples() -> None:
    text = DOC.read_text("utf-8")
    for heading in ("## Receiving with aiohttp", "### Flask", "### Django"):
        assert heading in text
    assert any("webhook_handler(" in block and "web.Application()" in block for block in BLOCKS)
    assert any("from flask import" in block and "handle_webhook(" in block for block in BLOCKS)
    assert any("from django" in block and "handle_webhook(" in block for block in BLOCKS)


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_examples_compile(index: int) -> None:
    compile(BLOCKS[index], f"docs/webhooks.md[{index}]", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


def test_imported_calypso_names_exist() -> None:
    for block in BLOCKS:
        for node in ast.walk(ast.parse(block)):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("calypso_async"):
                module = importlib.import_module(node.module)
                for alias in node.names:
                    assert hasattr(module, alias.name), f"{node.module}.{alias.name} is documented but missing"


async def test_the_aiohttp_example_serves(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import aiohttp
    import aiohttp.web

    from calypso_async.testing._webhooks import build_delivery

    from .conftest import serve

    block = next(b for b in BLOCKS if "web.Application()" in b)
    monkeypatch.setenv("CALYPSO_WEBHOOK_SECRET", "doc-secret")
    monkeypatch.setenv("CALYPSO_API_KEY", "doc-api-key")
    monkeypatch.setenv("CALYPSO_SECRET_KEY", "doc-api-secret")
    namespace: dict[str, object] = {"__name__": "docs_example"}
    exec(compile(block, "docs/webhooks.md", "exec"), namespace)
    app = namespace["app"]
    assert isinstance(app, aiohttp.web.Application)
    handler = next(iter(app.router.routes())).handler
    try:
        async with serve(handler) as url, aiohttp.ClientSession() as http:
            body, headers = build_delivery("PAYOUT_CHANGE_STATUS", {"payoutStatus": "COMPLETED"}, "doc-secret")
            async with http.post(url, data=body, headers=headers) as response:
                assert response.status == 200
            async with http.post(url, data=body, headers={**headers, "Sign": "00"}) as response:
                assert response.status == 400
    finally:
        await namespace["client"].aclose()  # type: ignore[attr-defined]
    assert "webhook PAYOUT_CHANGE_STATUS" in capsys.readouterr().out
