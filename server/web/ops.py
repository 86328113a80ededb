"""Operations endpoints: health for load balancers, metrics for monitoring.

- ``GET /healthz``: 200 with ``{"status": "ok", ...}`` while the database answers
  and the broker is connected; 503 with ``"status": "degraded"`` otherwise, so a
  reverse proxy can take the process out of rotation.
- ``GET /metrics``: the Prometheus text format (counts and timings only).
"""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from server.metrics import render_metrics
from server.web._helpers import store_of

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"
DB_TIMEOUT = 2.0


async def health(request: Request) -> Response:
    state = request.app.state
    database = await _database_answers(request)
    broker_up = state.broker.is_up()
    ok = database and broker_up
    body = {"status": "ok" if ok else "degraded", "database": database,
            "broker": state.broker.name, "broker_up": broker_up,
            "connections": state.hub.metrics.connections}
    return JSONResponse(body, status_code=200 if ok else 503)


async def _database_answers(request: Request) -> bool:
    try:
        await asyncio.wait_for(store_of(request).read(_select_one), DB_TIMEOUT)
    except Exception:
        return False
    return True


def _select_one(session) -> int:
    return session.execute(text("SELECT 1")).scalar_one()


async def metrics(request: Request) -> Response:
    state = request.app.state
    return PlainTextResponse(render_metrics(state.hub, state.broker), media_type=PROMETHEUS_TEXT)


routes = [Route("/healthz", health), Route("/metrics", metrics)]
