"""The exec-compiled fast structuring path of every model agrees with cattrs' general path, and shows its source."""

from __future__ import annotations

import inspect
import linecache
import traceback
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import calypso_async.models as models
from calypso_async._model import Model, converter

MODELS: list[type[Model]] = sorted(
    {
        cls
        for name in models.__all__
        if isinstance(cls := getattr(models, name), type) and issubclass(cls, Model) and cls is not Model
    },
    key=lambda cls: cls.__name__,
)


def paths(cls: type[Model]) -> tuple[Any, Any]:
    """(fast hook, general hook) of ``cls``; the fast one is ``None`` when the model has none."""
    hook = converter.get_structure_hook(cls)
    general = getattr(hook, "__globals__", {}).get("_general")
    return (hook, general) if general is not None else (None, hook)


def wires(cls: type[Model]) -> list[str]:
    return [f.metadata.get("wire", f.name) for f in attrs.fields(cls) if f.name != "extra"]


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.decimals(allow_nan=False, allow_infinity=False, places=4, min_value=-(10**6), max_value=10**6),
    st.text(max_size=8),
    st.sampled_from(["2025-01-02T03:04:05Z", "2025-01-02T03:04:05.12345+02:00", "USDT_TRX", "PAID", "1.5", ""]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=6,
)


def payloads(cls: type[Model]) -> st.SearchStrategy[dict[str, Any]]:
    known = st.dictionaries(st.sampled_from(wires(cls) or ["x"]), values, max_size=6)
    unknown = st.dictionaries(st.text(min_size=1, max_size=6), values, max_size=2)
    return st.tuples(known, unknown, st.booleans()).map(lambda t: {**t[0], **t[1]} if t[2] else t[0])


def test_most_models_have_a_fast_path() -> None:
    assert len(MODELS) > 100
    assert sum(paths(cls)[0] is not None for cls in MODELS) > len(MODELS) // 2


@pytest.mark.parametrize("cls", MODELS, ids=lambda cls: cls.__name__)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fast_and_general_paths_agree(cls: type[Model], data: st.DataObject) -> None:
    fast, general = paths(cls)
    if fast is None:
        return
    payload = data.draw(payloads(cls))
    outcomes = []
    for hook in (fast, general):
        try:
            outcomes.append(("ok", hook(dict(payload), cls)))
        except Exception as exc:  # both must fail the same way too
            outcomes.append(("error", type(exc)))
    assert outcomes[0] == outcomes[1], payload


def test_fast_path_source_is_registered_for_tracebacks() -> None:
    fast, _ = paths(next(cls for cls in MODELS if paths(cls)[0] is not None))
    filename = fast.__code__.co_filename
    assert filename.startswith("<calypso structure calypso_async.models.")
    assert linecache.getline(filename, 1).startswith("def structure_fast(data, _):")
    linecache.checkcache()  # the entry survives a cache check (no file to compare against)
    assert "structure_fast" in inspect.getsource(fast)


def test_a_failing_hook_shows_the_generated_line_in_the_traceback() -> None:
    cls = next(cls for cls in MODELS if paths(cls)[0] is not None)
    fast, general = paths(cls)
    text = ""
    try:
        fast.__globals__["_general"] = lambda data, _: 1 / 0  # the fallback fails: the traceback passes through
        fast([], cls)
    except ZeroDivisionError as exc:
        text = "".join(traceback.format_exception(exc))
    finally:
        fast.__globals__["_general"] = general
    assert "return _general(data, _)" in text


def test_decimal_values_survive_both_paths() -> None:
    for cls in MODELS:
        fast, general = paths(cls)
        if fast is None:
            continue
        decimal_wires = [
            f.metadata.get("wire", f.name) for f in attrs.fields(cls) if "Decimal" in str(f.type) and f.name != "extra"
        ]
        if decimal_wires:
            payload = {decimal_wires[0]: Decimal("0.000000000000000001")}
            assert fast(dict(payload), cls) == general(dict(payload), cls)
            return
    pytest.fail("no model with a Decimal field")
