"""Per-key quotas on requests: reads per second, articles per minute (429 over them)."""

from __future__ import annotations

import ipaddress

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from app.errors import RateLimited
from app.services.keys import KeyInfo
from app.services.quota import Rate, retry_after
from app.state import ServiceState


async def charge_read(request: Request, state: ServiceState, key: KeyInfo | None) -> None:
    """One read for ``key`` (for public reads: the client's address); 429 over the quota."""
    per_second = state.settings.quota_reads_per_second
    if per_second <= 0:
        return
    subject = f"key:{key.name}" if key else f"addr:{_address(request)}"
    rate = Rate(per_second, burst=max(1.0, 2 * per_second))
    wait = await _take(state, subject, rate, 1)
    if wait:
        who = f"the key {key.name!r}" if key else "this address"
        raise RateLimited(
            f"{who} is over its quota of {per_second:g} reads a second", retry_after(wait)
        )


async def charge_articles(state: ServiceState, key: KeyInfo, articles: int) -> None:
    """``articles`` posted with ``key``; 429 over its quota of articles per minute."""
    per_minute = state.settings.quota_articles_per_minute
    if per_minute <= 0:
        return
    rate = Rate(per_minute / 60, burst=max(per_minute, state.settings.batch_limit))
    # A bucket of its own: under the reads' subject one tat would count both quotas.
    wait = await _take(state, f"articles:key:{key.name}", rate, articles)
    if wait:
        raise RateLimited(
            f"the key {key.name!r} is over its quota of {per_minute:g} articles a minute "
            f"({articles} in this request)",
            retry_after(wait),
        )


async def _take(state: ServiceState, subject: str, rate: Rate, cost: float) -> float:
    wait = state.quotas.take_held(subject, rate, cost)  # no I/O: no thread hop
    if wait is None:
        wait = await run_in_threadpool(state.quotas.take, subject, rate, cost)
    return wait


def _address(request: Request) -> str:
    host = request.client.host if request.client else "unknown"
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host[:64]
