"""The Prometheus exposition of `metrics.REGISTRY`: its text, and the GET /metrics server."""

from __future__ import annotations

from typing import Final

from aiohttp import web
from prometheus_client.exposition import generate_latest

from smsgateway.observability.metrics import REGISTRY

__all__ = ["render", "start_metrics_server"]


def render() -> bytes:
    """The current exposition of `REGISTRY` in the Prometheus text format."""
    return generate_latest(REGISTRY)


# The classic text format, which every Prometheus version parses. prometheus_client's
# CONTENT_TYPE_LATEST announces version=1.0.0 (UTF-8 names) from 0.22 on; our names are
# all legacy-valid, so the body is the same and the older label is the safer one.
_CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"


async def _handle_metrics(_request: web.Request) -> web.Response:
    # Rendering walks every series; it is small (bounded labels) and cheap, so it runs
    # on the loop rather than paying a thread hop per scrape.
    body = generate_latest(REGISTRY)
    return web.Response(body=body, headers={"Content-Type": _CONTENT_TYPE})


async def start_metrics_server(host: str, port: int) -> web.AppRunner:
    """Serve GET /metrics from `REGISTRY` on host:port, in the running event loop.

    Returns the started runner; call `await runner.cleanup()` on shutdown. With port 0
    the real port is `runner.addresses[0][1]`.
    """
    app = web.Application()
    app.router.add_get("/metrics", _handle_metrics)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner
