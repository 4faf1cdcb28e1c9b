"""Published records of datasets: the files a record lists, with their checksums (Zenodo's API).

A Zenodo record (``$SOUNDING_EARTH_ZENODO_API/records/ID``, by default
https://zenodo.org/api) lists its files with size, download address and the
checksum Zenodo computed; both JSON forms of the API are read (InvenioRDM's
``files.entries`` mapping, the legacy ``files`` list, or a separate ``/files``
listing). :mod:`backend.data.published` downloads and verifies what a record lists.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from dataclasses import dataclass
from typing import Any

from backend.download import DownloadError, read_json

#: environment variable that replaces the Zenodo API base (no trailing slash needed)
ZENODO_API_ENV = "SOUNDING_EARTH_ZENODO_API"
ZENODO_API = "https://zenodo.org/api"
#: checksum algorithms a record may publish, and their hex lengths
CHECKSUMS = {"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128}


class DatasetError(ValueError):
    """A dataset that cannot be fetched or arranged; the message says why and what to do."""


@dataclass(frozen=True)
class RemoteFile:
    """One file a dataset's record lists."""

    key: str
    url: str
    size: int | None = None
    #: the checksum the record publishes, as ``ALGORITHM:HEX``, or None when it publishes none
    checksum: str | None = None


def zenodo_api() -> str:
    """The Zenodo API base: ``$SOUNDING_EARTH_ZENODO_API``, else https://zenodo.org/api."""
    return (os.environ.get(ZENODO_API_ENV) or ZENODO_API).rstrip("/")


def _checksum(text: Any, where: str) -> str | None:
    """``ALGORITHM:HEX`` from a record's checksum field (a bare 32-digit hex is MD5)."""
    if text in (None, ""):
        return None
    if not isinstance(text, str):
        raise DatasetError(f"{where}: checksum {text!r} is not text")
    algorithm, _, digest = text.strip().lower().rpartition(":")
    algorithm = algorithm or ("md5" if len(digest) == 32 else "")
    if algorithm not in CHECKSUMS:
        raise DatasetError(
            f"{where}: checksum {text!r}: unknown algorithm (expected one of {list(CHECKSUMS)})"
        )
    if len(digest) != CHECKSUMS[algorithm] or not re.fullmatch(r"[0-9a-f]+", digest):
        raise DatasetError(f"{where}: checksum {text!r} is not a {algorithm} digest")
    return f"{algorithm}:{digest}"


def _file_entries(files: Any) -> tuple[list[Any], bool] | None:
    """The file entries of a record's ``files`` value, and whether they are the legacy list."""
    if isinstance(files, list):
        return files, True
    if isinstance(files, dict):
        entries = files.get("entries")
        if isinstance(entries, dict):
            return list(entries.values()), False
        if isinstance(entries, list):
            return entries, False
    return None


def parse_zenodo_files(
    files: Any, record_id: str, api: str | None = None, where: str = ""
) -> list[RemoteFile] | None:
    """The files of a Zenodo record's ``files`` value, in either of Zenodo's forms.

    The current (InvenioRDM) form is ``{"entries": {KEY: {"key", "size", "checksum":
    "md5:HEX", "links": {"content": URL}}}}`` (``entries`` may also be a list); the
    legacy form is a list of ``{"key", "size", "checksum", "links": {"self": URL}}``.

    Returns:
        The files, or None when ``files`` holds no entries (the record lists them at
        its ``/files`` address instead).

    Raises:
        DatasetError: An entry without a key, with an unsafe key, or a malformed checksum.
    """
    api = (api or zenodo_api()).rstrip("/")
    found = _file_entries(files)
    if found is None:
        return None
    entries, legacy = found
    result = []
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            raise DatasetError(f"{where}: file entry {number} is not an object")
        key = entry.get("key") or entry.get("filename")
        if not isinstance(key, str) or not key:
            raise DatasetError(f"{where}: file entry {number} has no key")
        if key in (".", "..") or "/" in key or "\\" in key or key.startswith("."):
            raise DatasetError(f"{where}: file {key!r}: not a plain file name; refused")
        links = entry.get("links") if isinstance(entry.get("links"), dict) else {}
        url = links.get("content")
        if not url and legacy:
            url = links.get("self") or links.get("download")
        if not url:
            url = f"{api}/records/{record_id}/files/{urllib.parse.quote(key)}/content"
        size = entry.get("size", entry.get("filesize"))
        result.append(
            RemoteFile(
                key=key,
                url=str(url),
                size=int(size) if isinstance(size, int | float) and size >= 0 else None,
                checksum=_checksum(entry.get("checksum"), f"{where}: file {key}"),
            )
        )
    return result


def zenodo_record_files(record_id: str, api: str | None = None) -> list[RemoteFile]:
    """Every file a Zenodo record lists, with the checksum the record publishes for each.

    Raises:
        DatasetError: The record cannot be read, or lists no files.
    """
    api = (api or zenodo_api()).rstrip("/")
    url = f"{api}/records/{record_id}"
    try:
        record = read_json(url)
        if not isinstance(record, dict):
            raise DatasetError(f"{url}: not a Zenodo record (expected a JSON object)")
        files = parse_zenodo_files(record.get("files"), record_id, api, url)
        if files is None:  # the files are listed at their own address
            links = record.get("links") if isinstance(record.get("links"), dict) else {}
            listing = links.get("files") or f"{url}/files"
            files = parse_zenodo_files(read_json(listing), record_id, api, listing)
    except DownloadError as error:
        raise DatasetError(
            f"cannot read Zenodo record {record_id}: {error}. Check the network (or set "
            f"${ZENODO_API_ENV} to a mirror of the Zenodo API)"
        ) from error
    if not files:
        raise DatasetError(
            f"{url}: the record lists no files (restricted or removed?); see "
            f"https://zenodo.org/records/{record_id}"
        )
    return files
