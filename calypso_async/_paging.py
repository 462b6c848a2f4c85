"""Auto-paging for the page-number find calls (``x-pagination`` in the spec).

``client.customer_purse.iter_transactions(...)`` and ``client.settlement_wallets.iter_transactions(...)`` are
generated twins of the ``find_transactions`` calls; they use :func:`paginate`, which fetches lazily, one page
at a time, only when the consumer asks for the next item:

>>> async for tx in client.customer_purse.iter_transactions(customer_id=cid):  # doctest: +SKIP
...     print(tx.id, tx.amount)

The reference does not say whether ``pageNumber`` starts at 0 or 1, nor the default or maximum ``pageSize``.
The pager therefore starts at ``first_page`` (default 0) and stops, whichever base the server uses, when

* a page comes back empty, or shorter than the page size asked for;
* as many pages were read as ``total`` says there are (``total`` counts pages: the reference's
  ``page + 1 >= total``, counted from the first page read so that it also holds for 1-based pages);
* as many items were read as ``totalElements`` says there are.

A server that ignores ``pageNumber`` (the same full page again and again, no counters) would make that loop
endless; the pager detects a page identical to the one before it and raises
:class:`~calypso_async.InvalidResponseError` instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Protocol, TypeVar

from ._errors import InvalidResponseError

__all__ = ["DEFAULT_PAGE_SIZE", "PageLike", "paginate"]

DEFAULT_PAGE_SIZE = 100

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class PageLike(Protocol[T_co]):
    """What a page model offers: the items and, when the server sends them, the counters."""

    @property
    def result(self) -> Sequence[T_co] | None: ...

    @property
    def total(self) -> int | None: ...

    @property
    def total_elements(self) -> int | None: ...


async def paginate(
    fetch: Callable[[int, int], Awaitable[PageLike[T]]],
    *,
    page_size: int = DEFAULT_PAGE_SIZE,
    first_page: int = 0,
) -> AsyncIterator[T]:
    """Yield every item of every page, in order: ``fetch(page_number, page_size)`` reads one page.

    ``page_size`` must be 1..1000 (checked when iteration starts, before the first request).
    """
    from . import _validate  # pulls in the models' converter: loaded on first use, not at import

    size = _validate.page_size(page_size)
    number = _validate.integer("first_page", first_page)
    assert number is not None
    if number < 0:
        raise ValueError(f"first_page must not be negative, got {number}")
    pages_read = 0
    items_read = 0
    previous: Sequence[T] | None = None
    while True:
        page = await fetch(number, size)
        items = page.result or []
        if previous is not None and items and list(items) == list(previous):
            raise InvalidResponseError(
                f"page {number} is identical to page {number - 1}: the server seems to ignore the page number; "
                "stopping instead of repeating items"
            )
        previous = items
        pages_read += 1
        items_read += len(items)
        for item in items:
            yield item
        if len(items) < size:
            return
        total_pages = page.total
        if total_pages is not None and pages_read >= total_pages:
            return
        total_items = page.total_elements
        if total_items is not None and items_read >= total_items:
            return
        number += 1
