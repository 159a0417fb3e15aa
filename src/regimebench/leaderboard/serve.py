"""Serve a built site on 127.0.0.1 with the standard library (no network exposure by default)."""

from __future__ import annotations

import functools
import http.server
from pathlib import Path

__all__ = ["make_server"]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Static files; JSON served as such; one log line per request is left to the caller."""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".json": "application/json", ".js": "text/javascript",
                      ".csv": "text/csv", ".md": "text/plain; charset=utf-8"}

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        pass


def make_server(site: Path, port: int = 8000, host: str = "127.0.0.1") -> http.server.HTTPServer:
    """An HTTP server for ``site`` (``port`` 0 picks a free port; see ``server.server_port``)."""
    handler = functools.partial(_QuietHandler, directory=str(Path(site)))
    return http.server.ThreadingHTTPServer((host, port), handler)
