"""Models: attrs classes, one cattrs converter, open enums, and unknown fields kept.

Rules this module enforces for every model (generated ones in :mod:`calypso_async.models` included):

* wire names are camelCase, Python names snake_case; each field records its wire name in
  ``metadata["wire"]`` so that names such as ``in`` -> ``in_`` need no guessing;
* every response field is optional (the API's robustness rule): absent or ``null`` means ``None``;
* unknown fields are kept in ``model.extra`` (wire name -> raw value) and sent back by :meth:`Model.to_dict`;
* a field whose value has an unexpected shape does not fail the response: its raw value is kept in
  ``extra`` under its wire name and the attribute stays ``None``;
* amounts are :class:`~decimal.Decimal`, datetimes are timezone-aware (naive ones are UTC);
* enums are open: :class:`OpenEnum` is a ``str`` whose known values are class constants.
"""

from __future__ import annotations

import linecache
import types
import typing
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, TypeVar

import attrs
import cattrs

from ._errors import StructureError
from ._timestamps import parse_iso_datetime

__all__ = ["Model", "OpenEnum", "StructureError", "T", "converter", "field", "secret_field", "structure", "unstructure"]

T = TypeVar("T")
M = TypeVar("M", bound="Model")


class OpenEnum(str):
    """A string enum that accepts values it does not know.

    Known values are plain class constants, so ``invoice.state == InvoiceState.PAID`` reads naturally and an
    unknown value (a state Calypso added after this release) is still a valid, visible ``InvoiceState``.

    >>> InvoiceState("PAID").is_known, InvoiceState("NEW_STATE").is_known   # doctest: +SKIP
    (True, False)
    """

    __slots__ = ()
    _known_cache: ClassVar[dict[type, frozenset[str]]] = {}

    @classmethod
    def known_values(cls) -> frozenset[str]:
        cached = OpenEnum._known_cache.get(cls)
        if cached is None:
            values: set[str] = set()
            for klass in cls.__mro__:
                if klass in (OpenEnum, str, object):
                    continue
                for name, value in vars(klass).items():
                    if name.isupper() and isinstance(value, str):
                        values.add(value)
            cached = frozenset(values)
            OpenEnum._known_cache[cls] = cached
        return cached

    @property
    def is_known(self) -> bool:
        """False for a value this version of calypso has never seen."""
        return str(self) in self.known_values()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str.__repr__(self)})"


def _redact(value: object) -> str:
    return "None" if value is None else "'***'"


def field(wire: str, *, secret: bool = False, default: Any = None) -> Any:
    """Declare a model field: its camelCase wire name, optional, ``None`` by default."""
    return attrs.field(default=default, metadata={"wire": wire}, repr=_redact if secret else True)


def secret_field(wire: str) -> Any:
    """A field never shown by ``repr`` (webhook ``secretKey``, card data)."""
    return field(wire, secret=True)


@attrs.define(kw_only=True)
class Model:
    """Base of every calypso model.

    ``extra`` holds the fields this version does not know, by wire name, so that nothing the server sent
    is lost: ``payout.extra["newField"]``.
    """

    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)

    @classmethod
    def from_dict(cls: type[M], data: Any) -> M:
        """Build from wire-format data (camelCase keys)."""
        return structure(data, cls)

    def to_dict(self) -> dict[str, Any]:
        """The wire form (camelCase keys, ``None`` fields left out, unknown fields included)."""
        result: dict[str, Any] = converter.unstructure(self)
        return result


# --------------------------------------------------------------------------------------------- scalars


def _structure_decimal(value: Any, _: Any) -> Decimal:
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool):
        raise TypeError("a boolean is not an amount")
    elif isinstance(value, int):
        return Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"not a decimal number: {value!r}") from None
    else:
        raise TypeError(f"not a decimal number: {type(value).__name__}")
    if not result.is_finite():
        raise ValueError("amount is not finite")
    if abs(result.adjusted()) > _MAX_EXPONENT:
        raise ValueError("amount out of any plausible range")
    return result


_MAX_EXPONENT = 1000
"""Amounts beyond ``1E+1000`` (or below ``1E-1000``) are refused: no currency has them, and ``1E+999999999`` would
cost a billion digits wherever it is printed."""


def _structure_datetime(value: Any, _: Any) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, bool):
        raise TypeError("a boolean is not a datetime")
    elif isinstance(value, (int, Decimal)):
        # Epoch numbers: milliseconds when large (the API's unit), seconds otherwise.
        number = float(value)
        seconds = number / 1000.0 if abs(number) >= 1e11 else number
        return datetime.fromtimestamp(seconds, tz=timezone.utc)
    elif isinstance(value, str):
        return parse_iso_datetime(value)
    else:
        raise TypeError(f"not a datetime: {type(value).__name__}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


def _unstructure_datetime(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.isoformat()


def _structure_str(value: Any, _: Any) -> str:
    # Ids documented as strings sometimes arrive as numbers (webhooks): keep them as text.
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return str(value)


_MAX_INT_DIGITS = 4300
"""Python's limit on printing an int (``sys.get_int_max_str_digits()``); like ``int("9" * 5000)``, refuse to
expand ``1E+999999999`` into a number with a billion digits."""


def _structure_int(value: Any, _: Any) -> int:
    if isinstance(value, bool):
        raise TypeError("expected an integer, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        if value.adjusted() >= _MAX_INT_DIGITS:  # adjusted() is the digit count minus one
            raise ValueError("integer too large")
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise TypeError(f"expected an integer, got {value!r}")


def _structure_bool(value: Any, _: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise TypeError(f"expected a boolean, got {value!r}")


def _structure_any(value: Any, _: Any) -> Any:
    return value


def _unstructure_any(value: Any) -> Any:
    # Any-typed fields hold wire data already: pass it through rather than recursing into it.
    return value


# ---------------------------------------------------------------------------------------------- models


_READ_ERRORS = (
    ValueError,
    TypeError,
    KeyError,
    AttributeError,
    ArithmeticError,
    RecursionError,
    cattrs.BaseValidationError,
)
"""What a hook may raise on data of an unexpected shape."""


def _is_model(cls: Any) -> bool:
    return isinstance(cls, type) and issubclass(cls, Model)


def _is_open_enum(cls: Any) -> bool:
    return isinstance(cls, type) and issubclass(cls, OpenEnum)


def _structure_open_enum(value: Any, cls: type[OpenEnum]) -> OpenEnum:
    if isinstance(value, str):
        return cls(value)
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise TypeError(f"expected a string for {cls.__name__}, got {type(value).__name__}")
    return cls(str(value))


def _plan(cls: type[Model]) -> list[tuple[str, str, Any]]:
    attrs.resolve_types(cls)
    plan = []
    for f in attrs.fields(cls):
        if f.name == "extra":
            continue
        wire = f.metadata.get("wire", f.name)
        plan.append((f.name, wire, f.type))
    return plan


def _without_none(tp: Any) -> Any:
    """``X | None`` -> ``X``: the model hooks skip ``None`` themselves, so cattrs' Optional wrapper (a dispatch
    per field per object) is pure overhead."""
    args = getattr(tp, "__args__", None)
    if args and type(None) in args and typing.get_origin(tp) in (typing.Union, types.UnionType):
        rest = tuple(a for a in args if a is not type(None))
        return rest[0] if len(rest) == 1 else typing.Union[rest]  # noqa: UP007
    return tp


def _make_structure_hook(cls: type[Model]) -> Callable[[Any, Any], Model]:
    plan = [(name, wire, _without_none(tp)) for name, wire, tp in _plan(cls)]
    by_wire: dict[str, tuple[str, Callable[[Any, Any], Any], Any]] = {
        wire: (name, converter.get_structure_hook(tp), tp) for name, wire, tp in plan
    }

    def structure_model(data: Any, _: Any) -> Model:
        if isinstance(data, cls):
            return data
        if not isinstance(data, dict):
            raise StructureError(f"expected a JSON object for {cls.__name__}, got {type(data).__name__}")
        kwargs: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in data.items():
            target = by_wire.get(key)
            if target is None:
                extra[key] = value
                continue
            if value is None:
                continue
            name, hook, tp = target
            try:
                kwargs[name] = hook(value, tp)
            except _READ_ERRORS:
                extra[key] = value
        return cls(extra=extra, **kwargs)

    return _compile_fast_path(cls, by_wire, structure_model) or structure_model


def _init_only_assigns(cls: type[Model]) -> bool:
    """True when the attrs ``__init__`` of ``cls`` does nothing but assign its arguments (no validators,
    converters, ``on_setattr`` hooks, pre/post-init, frozen or non-init fields)."""
    if cls.__setattr__ is not object.__setattr__ or cls.__new__ is not object.__new__:
        return False
    if hasattr(cls, "__attrs_pre_init__") or hasattr(cls, "__attrs_post_init__"):
        return False
    return all(f.init and f.validator is None and f.converter is None for f in attrs.fields(cls))


def _list_item(tp: Any) -> Any:
    """``X`` of ``list[X]``; ``None`` for any other type."""
    if typing.get_origin(tp) is list and len(typing.get_args(tp)) == 1:
        return typing.get_args(tp)[0]
    return None


def _compile_fast_path(
    cls: type[Model],
    by_wire: dict[str, tuple[str, Callable[[Any, Any], Any], Any]],
    general: Callable[[Any, Any], Model],
) -> Callable[[Any, Any], Model] | None:
    """Straight-line structuring for the common case: an exact ``dict`` holding known keys only.

    Anything else (unknown keys, a value its hook refuses, a dict subclass, a model instance) goes to
    ``general``, which applies the per-field rules (raw value kept in ``extra``); hooks are pure, so running
    them again there is safe. Same result as ``general``, about a third less time per object.
    """
    defaults = {f.name: f.default for f in attrs.fields(cls)}
    if any(defaults[name] is not None for name, _, _ in by_wire.values()):
        return None  # an absent field must keep its default: leave such a model to the general hook
    namespace: dict[str, Any] = {
        "_cls": cls,
        "_general": general,
        "_known": frozenset(by_wire),
        "_errors": _READ_ERRORS,
        "_dict": dict,
        "_list": list,
        "_str": str,
        "_Decimal": Decimal,
        "_new": object.__new__,
    }
    lines = [
        "def structure_fast(data, _):",
        "    if type(data) is not _dict or not _known.issuperset(data):",
        "        return _general(data, _)",
        "    get = data.get",
        "    try:",
    ]
    args = []
    for i, (wire, (name, hook, tp)) in enumerate(by_wire.items()):
        namespace[f"_h{i}"], namespace[f"_t{i}"] = hook, tp
        lines.append(f"        v{i} = get({wire!r})")
        item = _list_item(tp)
        if hook is _structure_str:  # the common case needs no call: a str is kept as it is
            lines.append(f"        if v{i} is not None and type(v{i}) is not _str: v{i} = _h{i}(v{i}, _t{i})")
        elif hook is _structure_decimal:  # nor does a finite Decimal of sane magnitude (what the decoder gives)
            lines.append(
                f"        if v{i} is not None and (type(v{i}) is not _Decimal or not v{i}.is_finite() "
                f"or not -{_MAX_EXPONENT} <= v{i}.adjusted() <= {_MAX_EXPONENT}): v{i} = _h{i}(v{i}, _t{i})"
            )
        elif item is not None:  # a JSON array: the items' own hook straight away (cattrs' list hook for the rest)
            namespace[f"_e{i}"], namespace[f"_et{i}"] = converter.get_structure_hook(item), item
            lines.append(f"        if type(v{i}) is _list: v{i} = [_e{i}(x, _et{i}) for x in v{i}]")
            lines.append(f"        elif v{i} is not None: v{i} = _h{i}(v{i}, _t{i})")
        else:
            lines.append(f"        if v{i} is not None: v{i} = _h{i}(v{i}, _t{i})")
        args.append(f"{name}=v{i}")
    lines += ["    except _errors:", "        return _general(data, _)"]
    if _init_only_assigns(cls):  # then set the slots directly: half the cost of the keyword call
        lines.append("    obj = _new(_cls)")
        lines.append("    obj.extra = {}")
        lines += [f"    obj.{name} = v{i}" for i, (name, _, _) in enumerate(by_wire.values())]
        lines.append("    return obj")
    else:
        lines.append(f"    return _cls(extra={{}}, {', '.join(args)})")
    source = "\n".join(lines) + "\n"
    filename = f"<calypso structure {cls.__module__}.{cls.__qualname__}>"
    # Registered with linecache (mtime None: never evicted by checkcache) so that tracebacks, pdb and
    # inspect.getsource show the generated lines instead of nothing.
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    exec(compile(source, filename, "exec"), namespace)
    fast: Callable[[Any, Any], Model] = namespace["structure_fast"]
    return fast


def _make_unstructure_hook(cls: type[Model]) -> Callable[[Model], dict[str, Any]]:
    plan = [(name, wire, converter.get_unstructure_hook(tp)) for name, wire, tp in _plan(cls)]

    def unstructure_model(obj: Model) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, wire, hook in plan:
            value = getattr(obj, name)
            if value is not None:
                out[wire] = hook(value)
        for key, value in obj.extra.items():
            out.setdefault(key, value)
        return out

    return unstructure_model


def _is_code_or_model(tp: Any) -> bool:
    """A union of ``str`` and one model class (``CurrencyCodeOrObject``: older docs send objects, newer codes)."""
    if typing.get_origin(tp) not in (typing.Union, types.UnionType):
        return False
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    return len(args) == 2 and str in args and any(_is_model(a) for a in args)


def _structure_code_or_model(value: Any, tp: Any) -> Any:
    if isinstance(value, dict):
        model = next(a for a in typing.get_args(tp) if _is_model(a))
        return converter.structure(value, model)
    return converter.structure(value, str)


def _build_converter() -> cattrs.Converter:
    conv = cattrs.Converter()
    conv.register_structure_hook(Decimal, _structure_decimal)
    conv.register_unstructure_hook(Decimal, lambda v: v)
    conv.register_structure_hook(datetime, _structure_datetime)
    conv.register_unstructure_hook(datetime, _unstructure_datetime)
    # Replace cattrs' built-in str/int/bool hooks (which call ``str(v)``/``bool(v)`` and so accept anything).
    # OpenEnum is registered the same way so that, being the more specific class, it wins over ``str``.
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(int, _structure_int)
    conv.register_structure_hook(bool, _structure_bool)
    conv.register_structure_hook(OpenEnum, _structure_open_enum)
    # Predicates, not register_*_hook(Any): singledispatch refuses typing.Any before Python 3.11.
    conv.register_structure_hook_func(lambda t: t is Any, _structure_any)
    conv.register_unstructure_hook_func(lambda t: t is Any, _unstructure_any)
    conv.register_unstructure_hook_func(_is_open_enum, str)
    conv.register_structure_hook_func(_is_code_or_model, _structure_code_or_model)
    conv.register_structure_hook_factory(_is_model, _make_structure_hook)
    conv.register_unstructure_hook_factory(_is_model, _make_unstructure_hook)
    return conv


converter = _build_converter()
"""The one converter: wire JSON (decoded with Decimal numbers) <-> models."""


def structure(data: Any, cls: type[T]) -> T:
    """Wire data -> model (or any type the converter knows); bad shapes raise :class:`StructureError`."""
    try:
        return converter.structure(data, cls)
    except StructureError:
        raise
    except _READ_ERRORS as exc:
        raise StructureError(f"cannot read {getattr(cls, '__name__', cls)}: {type(exc).__name__}: {exc}") from None


def unstructure(obj: Any) -> Any:
    """Model (or a list/dict of them) -> wire data, ready for :func:`calypso_async._json.dumps`."""
    return converter.unstructure(obj)
