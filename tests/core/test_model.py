"""Model base: wire names, unknown fields kept, open enums, lenient fields, secrets redacted."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import attrs
import pytest

from calypso_async import Model, OpenEnum, _json
from calypso_async._model import field, secret_field, structure


class Colour(OpenEnum):
    RED = "RED"
    BLUE = "BLUE"


@attrs.define(kw_only=True)
class Item(Model):
    amount: Decimal | None = field("amount")


@attrs.define(kw_only=True)
class Thing(Model):
    thing_id: str | None = field("thingId")
    from_: str | None = field("from")
    colour: Colour | None = field("colour")
    items: list[Item] | None = field("items")
    created: datetime | None = field("createdDate")
    count: int | None = field("count")
    secret_key: str | None = secret_field("secretKey")


WIRE = (
    b'{"thingId":7,"from":"a","colour":"GREEN","items":[{"amount":0.123456789012345678,"x":1}],'
    b'"createdDate":"2022-03-15T12:13:05.909616","count":3,"secretKey":"s3cr3t","brandNew":{"deep":[1]}}'
)


def test_structure() -> None:
    thing = Thing.from_dict(_json.loads(WIRE))
    assert thing.thing_id == "7"  # numeric ids become strings
    assert thing.from_ == "a"
    assert thing.colour == "GREEN" and isinstance(thing.colour, Colour) and not thing.colour.is_known
    assert Colour("RED").is_known and Colour.known_values() == {"RED", "BLUE"}
    assert thing.items is not None and thing.items[0].amount == Decimal("0.123456789012345678")
    assert thing.items[0].extra == {"x": 1}
    assert thing.created == datetime(2022, 3, 15, 12, 13, 5, 909616, tzinfo=timezone.utc)
    assert thing.extra == {"brandNew": {"deep": [1]}}


def test_unknown_fields_and_values_survive_a_round_trip() -> None:
    thing = Thing.from_dict(_json.loads(WIRE))
    again = Thing.from_dict(thing.to_dict())
    assert again == thing
    assert thing.to_dict()["brandNew"] == {"deep": [1]}
    assert thing.to_dict()["colour"] == "GREEN"


def test_a_field_of_unexpected_shape_is_kept_raw() -> None:
    thing = structure({"count": "many", "items": "none", "thingId": "ok"}, Thing)
    assert thing.count is None and thing.items is None
    assert thing.extra == {"count": "many", "items": "none"}
    assert thing.thing_id == "ok"


def test_secret_fields_are_redacted_in_repr() -> None:
    thing = Thing.from_dict(_json.loads(WIRE))
    assert "s3cr3t" not in repr(thing)
    assert "secret_key='***'" in repr(thing)
    assert thing.secret_key == "s3cr3t"


def test_epoch_milliseconds_become_aware_datetimes() -> None:
    thing = structure({"createdDate": 1735689600000}, Thing)
    assert thing.created == datetime(2025, 1, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize("sign", ["", "-"])
def test_an_integer_of_4300_digits_is_read_and_printed_and_one_of_4301_is_kept_raw(sign: str) -> None:
    from calypso_async import models
    from calypso_async._model import structure

    largest = Decimal(sign + "9" * 4300)
    page = structure({"total": largest, "totalElements": Decimal(sign + "1E+4299")}, models.PGTransactionPage)
    assert page.total == int(largest) and page.total_elements == int(sign + "1" + "0" * 4299)
    assert repr(page) and f"{page}" and _json.loads(_json.dumps(page.to_dict()))["total"] == int(largest)

    too_large = Decimal(sign + "1E+4300")  # 4,301 digits
    page = structure({"total": too_large}, models.PGTransactionPage)
    assert page.total is None and page.extra == {"total": too_large}
    assert repr(page) and f"{page}" and page.to_dict()["total"] == too_large
