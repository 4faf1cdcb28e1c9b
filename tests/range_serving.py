"""Serving bytes the way a download server does, for the local HTTP servers of the tests."""

from __future__ import annotations

import http.server


def send_with_range(
    handler: http.server.BaseHTTPRequestHandler, data: bytes, ranges: list[str], truncate: bool
) -> int:
    """Answer a GET for ``data``: 206 from the ``Range`` start when asked (noted in ``ranges``),
    else 200; with ``truncate`` only the first half of the body goes out (a hang-up).

    Returns:
        The bytes sent.
    """
    start = 0
    header = handler.headers.get("Range")
    if header:
        ranges.append(header)
        start = int(header.removeprefix("bytes=").split("-")[0])
        handler.send_response(206)
        handler.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
    else:
        handler.send_response(200)
    body = data[start:]
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    if truncate:
        body = body[: len(body) // 2]
    handler.wfile.write(body)
    return len(body)
