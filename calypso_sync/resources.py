"""The sync resource classes (``client.payouts`` is a :class:`Payouts`), for type annotations.

>>> from calypso_sync.resources import Payouts  # doctest: +SKIP

They are generated (``calypso_sync/_generated.py``); they are not exported from ``calypso_sync`` itself because
some names (``Account``) are also model names there.
"""

from . import _generated
from ._generated import *  # noqa: F403

__all__: list[str] = []
__all__ += _generated.__all__
