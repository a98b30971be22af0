"""The pagination of the API's lists: ``page`` (from 1) and ``page_size`` (default 20, at most
100), answering ``count``, ``next``, ``previous`` and ``results``; feeds (the notifications) use an
opaque ``cursor`` instead of ``page`` with the same ``page_size``."""

from __future__ import annotations

from rest_framework.pagination import CursorPagination, PageNumberPagination

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


class PagePagination(PageNumberPagination):
    page_size = DEFAULT_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    page_size_query_description = f"Items per page (default {DEFAULT_PAGE_SIZE}, at most {MAX_PAGE_SIZE})."


class FeedCursorPagination(CursorPagination):
    """For feeds that grow at the top (the notification bell): an opaque ``cursor`` instead of a
    page number, so new rows never shift the next page, and no ``count`` (no COUNT(*) per page).
    ``page_size`` as on every list (default 20, at most 100). Newest first; ``id`` breaks ties
    between rows created in the same instant. A cursor that does not decode answers 404."""

    page_size = DEFAULT_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    ordering = ("-created_at", "-id")
    page_size_query_description = f"Items per page (default {DEFAULT_PAGE_SIZE}, at most {MAX_PAGE_SIZE})."
