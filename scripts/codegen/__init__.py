"""calypso's code generator: one parser, one description, one emitter per output.

    python -m scripts.codegen           # (re)write every generated file
    python -m scripts.codegen --check   # exit 1 when a checked-in file differs from what would be generated

Layers (each tested on its own in ``tests/api/test_codegen.py``):

* ``describe.py`` (parser): ``calypso_async/_spec/`` -> :class:`~scripts.codegen.describe.API`, one description
  of models, enums, operations (with their retry facts), resources and webhook events;
* ``engine.py`` (parser): the public surface of the hand-written engine ``AsyncAPIClient``, for the sync client;
* emitters, each ``emit(api) -> {path: text}``: ``emit_models`` (``models/``), ``emit_resources``
  (``resources/``), ``emit_client`` (``_client.py``, the ``AsyncCalypso`` leaf), ``emit_sync``
  (``calypso_sync/_generated.py``), ``emit_events`` (``webhooks/_events.py``), ``emit_coverage``
  (``docs/reference-coverage.md``), ``emit_raw`` (``with_raw_response`` of both clients, ``_raw_resources.py``);
* ``text.py`` (naming, wrapping, docstrings) and ``calls.py`` (signatures and docstrings shared by the async and
  sync emitters); ``fmt.py`` formats Python output with ruff, so output is stable.
"""
