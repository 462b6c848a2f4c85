"""The models of ``calypso_async.models``, re-exported so sync code needs only ``calypso_sync``.

>>> from calypso_sync.models import InvoiceState  # doctest: +SKIP

They are the same classes (not copies): results of sync and async calls compare and pickle alike.
"""

from calypso_async import models as _models
from calypso_async.models import *  # noqa: F403

__all__: list[str] = []
__all__ += _models.__all__
