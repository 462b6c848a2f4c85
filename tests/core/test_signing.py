"""Signing: the reference's test vector, and secrets never shown."""

from __future__ import annotations

import pickle

import pytest

from calypso_async._signing import Signer, mask, sign

from ..conftest import API_KEY, SECRET

VECTOR = (
    "b16e9d45f49f2069becbc4f108b237bee588cfc353fe9501df103e692acbc68d"
    "482a10d34c12bea22fedde7e28e1b8e57a6a0a373b0e9a27c5257bd8b36e13b9"
)


def test_reference_vector() -> None:
    assert sign(SECRET, b'{"timestamp":1}') == VECTOR


def test_signer_headers() -> None:
    headers = Signer(API_KEY, SECRET).headers(b'{"timestamp":1}')
    assert headers == {"Key": API_KEY, "Sign": VECTOR, "Content-Type": "application/json"}


def test_signer_never_shows_the_secret() -> None:
    signer = Signer(API_KEY, SECRET)
    for text in (repr(signer), str(signer)):
        assert SECRET not in text
        assert API_KEY not in text
    with pytest.raises(TypeError):
        pickle.dumps(signer)


def test_mask() -> None:
    assert mask(API_KEY) == "c529…2430"
    assert mask("short") == "***"
