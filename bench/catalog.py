"""Catalog benchmark (issue 19, item 4): ``GET /api/catalog/internet`` with 5,000 products.

The products are inserted in one statement; the first request renders and caches the listing's
JSON (a miss), then ``wrk`` with one connection measures cache hits (anonymous visitors share
one entry) and the 304 answers to a client that already holds the current ETag.
"""

from __future__ import annotations

import time
from decimal import Decimal

from bench.dashboard import Server
from bench.report import Row, ms, verdict
from bench.wrk import wrk

CATALOG = "/api/catalog/internet"
PRODUCTS = 5_000
TARGET_SECONDS = 0.020
DURATION = 5


def run(server: Server) -> list[Row]:
    from apps.catalog.models import BillingCycle, ItemClass, Product, ProductType
    from apps.catalog.services import catalog_cache_invalidate

    classes = list(ItemClass.values)
    Product.objects.bulk_create(
        [
            Product(
                salesforce_id=f"01tBNCH{n:011d}",
                name=f"Bench plan {n}",
                sku=f"BENCH-{n}",
                description="A generated product of the catalog benchmark.",
                product_type=ProductType.INTERNET,
                item_class=classes[n % len(classes)],
                billing_cycle=BillingCycle.values[0],
                price=Decimal(1000 + n),
                display_order=n,
            )
            for n in range(PRODUCTS)
        ],
        batch_size=1_000,
    )
    catalog_cache_invalidate()
    started = time.perf_counter()
    status, body = server.get(CATALOG, {})
    miss = time.perf_counter() - started
    if status != 200:
        raise RuntimeError(f"{CATALOG} answered {status}: {body[:300]!r}")
    conn_headers = {"X-Forwarded-Proto": "https"}
    etag = _etag(server)
    status, _ = server.get(CATALOG, {"If-None-Match": etag})
    if status != 304:
        raise RuntimeError(f"{CATALOG} with its own ETag answered {status}, not 304")
    hits = wrk(server.base_url + CATALOG, headers=conn_headers, duration=DURATION, connections=1, threads=1)
    not_modified = wrk(
        server.base_url + CATALOG,
        headers={**conn_headers, "If-None-Match": etag},
        duration=DURATION,
        connections=1,
        threads=1,
    )
    if hits.socket_errors or not_modified.socket_errors or hits.bad_status:
        raise RuntimeError(f"wrk saw errors on {CATALOG}:\n{hits.raw}\n{not_modified.raw}")
    return [
        Row(
            "C",
            f"GET {CATALOG}, {PRODUCTS:,} products ({len(body) / 1024:,.0f} KB JSON), cache hit: "
            f"p99 of {hits.requests:,} requests on 1 connection (p50 {ms(hits.p50)})",
            ms(hits.p99),
            f"first request (miss: query + render + store) {ms(miss)}",
            f"{hits.p99 / miss:.2f}",
            f"<= {ms(TARGET_SECONDS)}",
            verdict(hits.p99 <= TARGET_SECONDS),
            key="4.hit",
        ),
        Row(
            "C",
            "the same with If-None-Match: the current ETag (304, no body): p50 / p99",
            f"{ms(not_modified.p50)} / {ms(not_modified.p99)}",
            f"cache hit with body p50 {ms(hits.p50)}",
            f"{not_modified.p50 / hits.p50:.2f}",
        ),
    ]


def _etag(server: Server) -> str:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("GET", CATALOG, headers={"X-Forwarded-Proto": "https"})
        response = conn.getresponse()
        response.read()
        etag = response.getheader("ETag")
    finally:
        conn.close()
    if not etag:
        raise RuntimeError(f"{CATALOG} sent no ETag")
    return etag
