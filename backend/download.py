"""Streaming downloads over HTTP(S) or ``file://`` that resume an interrupted transfer.

A download streams into a ``.part`` file beside its destination. A cancelled or
killed download keeps that file, and the next call resumes it with an HTTP
``Range`` request (a server that ignores the range sends the whole file, which
then replaces the part). The caller verifies the finished part (see
:func:`file_digests`) and renames it into place.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from backend.atomic import write_error
from backend.progress import Cancelled, NullProgress, Progress

CHUNK = 1 << 16
TIMEOUT_S = 30.0
USER_AGENT = "sounding-earth-qgis"
#: address schemes a download may use
SCHEMES = ("http", "https", "file")


class DownloadError(ValueError):
    """A download that failed: unreachable, refused or cut short; the message says what to do."""


class _RangeRefused(Exception):
    pass


def open_url(url: str, offset: int = 0, accept: str | None = None):
    """Open ``url`` for reading, from byte ``offset`` on (an HTTP Range request).

    Args:
        url: ``http://``, ``https://`` or ``file://`` address.
        offset: First byte wanted (0: the whole file).
        accept: Value of the ``Accept`` header, if any.

    Returns:
        The response (a context manager with ``read``, ``headers`` and ``status``).

    Raises:
        DownloadError: Another scheme, an unreachable host or an HTTP error.
    """
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in SCHEMES:
        raise DownloadError(f"{url}: expected an http://, https:// or file:// address")
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if accept:
        request.add_header("Accept", accept)
    if offset and scheme in ("http", "https"):
        request.add_header("Range", f"bytes={offset}-")
    try:
        return urllib.request.urlopen(request, timeout=TIMEOUT_S)  # noqa: S310 (scheme checked)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:
            raise _RangeRefused from exc
        raise DownloadError(f"{url}: the server answered {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(f"{url}: cannot download ({reason})") from exc


def read_json(url: str, limit: int = 50_000_000) -> Any:
    """The JSON document at ``url`` (e.g. a Zenodo record), read whole.

    Raises:
        DownloadError: Unreachable, an HTTP error, larger than ``limit`` bytes, or not JSON.
    """
    with open_url(url, accept="application/json") as response:
        try:
            body = response.read(limit + 1)
        except (OSError, http.client.HTTPException) as exc:
            raise DownloadError(f"{url}: cannot download ({exc})") from exc
    if len(body) > limit:
        raise DownloadError(f"{url}: larger than {limit} bytes; not a record")
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise DownloadError(f"{url}: the answer is not JSON ({exc})") from exc


def download(
    url: str,
    part: Path,
    progress: Progress | None = None,
    keep_incomplete: bool = False,
) -> int:
    """Stream ``url`` into ``part``, resuming an existing ``part`` where the server allows.

    Args:
        url: The address.
        part: The partial file to write (appended to when it exists and the server
            honours the Range request).
        progress: Progress (fraction of the announced size) and cancellation.
        keep_incomplete: When the connection ends early or breaks, keep the bytes
            received in ``part`` so the next call resumes (for large files);
            otherwise remove ``part``.

    Returns:
        Bytes received in this call.

    Raises:
        DownloadError: Unreachable, refused, or fewer bytes than announced.
        OutputError: ``part`` could not be written (a full disk); ``part`` is kept
            when ``keep_incomplete``.
        Cancelled: Cancelled through ``progress`` (``part`` is kept for resuming).
    """
    progress = progress or NullProgress()
    offset = part.stat().st_size if part.is_file() else 0
    try:
        response = open_url(url, offset)
    except _RangeRefused:  # the part is complete or stale: start again
        part.unlink()
        offset = 0
        response = open_url(url, 0)
    received = 0

    def give_up() -> str:
        if keep_incomplete and part.is_file() and part.stat().st_size:
            size = part.stat().st_size
            return (
                f"the {size} bytes received are kept in {part}: run the same command "
                "again to resume"
            )
        with contextlib.suppress(FileNotFoundError):
            part.unlink()
        return "nothing was kept, try again"

    with response:
        status = getattr(response, "status", None)
        if offset and status != 206:
            offset = 0  # the server sent the whole file
        length = response.headers.get("Content-Length")
        expected = int(length) if length and length.isdigit() else None
        total = offset + expected if expected is not None else None
        mode = "ab" if offset else "wb"
        with part.open(mode) as out:
            while True:
                if progress.is_cancelled():
                    raise Cancelled("cancelled by the user")
                try:
                    block = response.read(CHUNK)
                except (OSError, http.client.HTTPException) as exc:
                    out.close()
                    raise DownloadError(f"{url}: download failed ({exc}); {give_up()}") from exc
                if not block:
                    break
                try:
                    out.write(block)
                except OSError as exc:
                    out.close()
                    if not keep_incomplete:
                        with contextlib.suppress(FileNotFoundError):
                            part.unlink()
                    raise write_error(part, exc) from exc
                received += len(block)
                done = offset + received
                if total:
                    progress.progress(done / total, f"{done / 1e6:.1f} of {total / 1e6:.1f} MB")
                else:
                    progress.progress(0.0, f"{done / 1e6:.1f} MB")
    if expected is not None and received < expected:
        raise DownloadError(
            f"{url}: download incomplete ({offset + received} of {total} bytes: the "
            f"connection ended early); {give_up()}"
        )
    return received


def file_digests(
    path: Path, algorithms: Iterable[str] = ("sha256",), progress: Progress | None = None
) -> dict[str, str]:
    """Hex digests of a file, several algorithms in one pass (e.g. ``md5`` and ``sha256``).

    Raises:
        Cancelled: Cancelled through ``progress``.
    """
    digests = {name: hashlib.new(name) for name in algorithms}
    size = path.stat().st_size or 1
    done = 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            for digest in digests.values():
                digest.update(block)
            done += len(block)
            if progress is not None:
                if progress.is_cancelled():
                    raise Cancelled("cancelled by the user")
                progress.progress(done / size, f"checking {path.name}")
    return {name: digest.hexdigest() for name, digest in digests.items()}


def sha256_file(path: Path) -> str:
    """The SHA-256 (hex) of a file."""
    return file_digests(path, ("sha256",))["sha256"]
