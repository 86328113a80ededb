"""The floor: a bare Starlette broadcast server, measured beside Plenary.

It does the least a broadcast can do: keep every socket in a set, and on
``POST /broadcast`` send one prepared text to each of them in a plain loop. It
runs under the same uvicorn settings as ``plenary serve``.

Run as ``python -m bench._floor PORT``.
"""

from __future__ import annotations

import json
import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

clients: set[WebSocket] = set()
counter = {"seq": 0}


async def socket(websocket: WebSocket) -> None:
    await websocket.accept()
    clients.add(websocket)
    try:
        await websocket.receive_text()  # the hello
        await websocket.send_text('{"type":"welcome_floor"}')
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        pass
    finally:
        clients.discard(websocket)


async def broadcast(request: Request) -> JSONResponse:
    body = await request.json()
    counter["seq"] += 1
    text = json.dumps({"type": "broadcast", "seq": counter["seq"], "pad": body.get("pad", "")})
    for websocket in list(clients):
        try:
            await websocket.send_text(text)
        except Exception:
            clients.discard(websocket)
    return JSONResponse({"seq": counter["seq"], "sent": len(clients)})


app = Starlette(routes=[WebSocketRoute("/ws", socket), Route("/broadcast", broadcast, methods=["POST"])])

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), ws="websockets-sansio",
                ws_per_message_deflate=False, ws_ping_interval=None, backlog=4096,
                log_level="warning")
