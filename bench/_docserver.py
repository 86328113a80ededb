"""One server for the documents benchmark, in its own process so its CPU time is its own.

``python -m bench._docserver plenary DATA_DIR PORT``: Plenary itself.
``python -m bench._docserver static FOLDER PORT``: a bare Starlette StaticFiles
app over FOLDER at /files (byte ranges included), the baseline.
"""

from __future__ import annotations

import sys
from pathlib import Path

import uvicorn


def main(kind: str, folder: str, port: int) -> None:
    if kind == "plenary":
        from server.app import create_app
        from server.settings import Settings
        app = create_app(Settings(data_dir=Path(folder), secret_key="bench-documents",
                                  port=port, log_level="warning"))
    else:
        from starlette.applications import Starlette
        from starlette.routing import Mount
        from starlette.staticfiles import StaticFiles
        app = Starlette(routes=[Mount("/files", StaticFiles(directory=folder))])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", backlog=4096,
                ws="websockets-sansio", ws_per_message_deflate=False)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
