"""The recordings of a SoundingEarth folder: its ``metadata.csv``, read and checked."""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

#: the columns of metadata.csv that describe a recording in words (free text)
DESCRIPTION_COLUMNS = (
    "description",
    "date_recorded",
    "date_uploaded",
    "creator",
    "licenseurl",
    "title",
)
#: the columns of the release's metadata.csv, in order
METADATA_COLUMNS = (
    "long_key",
    "key",
    "longitude",
    "latitude",
    "altitude",
    *DESCRIPTION_COLUMNS,
    "mp3name",
    "mp3mb",
    "mp3seconds",
    "mp3channels",
    "mp3bitrate",
    "mp3samplerate",
    "mp3file",
)
#: columns without which a recording cannot be placed on the map
REQUIRED_COLUMNS = ("key", "longitude", "latitude")
#: longest field of a metadata.csv (csv's default, 128 KB, is shorter than some descriptions)
MAX_FIELD_BYTES = 256 * 1024 * 1024


class MetadataError(ValueError):
    """A metadata.csv that cannot be read; the message names the file, line and column."""


@dataclass(frozen=True)
class Recording:
    """One row of metadata.csv: a geotagged sound recording."""

    key: int
    long_key: str
    longitude: float
    latitude: float
    title: str
    creator: str
    licenseurl: str
    description: str
    #: every raw column of the row, by header name (extra columns included)
    fields: dict[str, str] = field(default_factory=dict, hash=False, repr=False)


def _parse_coordinate(text: str, low: float, high: float) -> float:
    value = float(text)  # ValueError handled by the caller
    if not math.isfinite(value) or not low <= value <= high:
        raise ValueError(text)
    return value


def _invalid(
    path: Path, line: int, fields: dict[str, str], column: str, expected: str
) -> MetadataError:
    return MetadataError(
        f"{path} line {line}, column {column!r}: expected {expected}, got {fields[column]!r}"
    )


def _coordinate(path: Path, line: int, fields: dict[str, str], column: str, limit: int) -> float:
    """The number in ``column``, within ``[-limit, limit]`` degrees."""
    try:
        return _parse_coordinate(fields[column].strip(), -float(limit), float(limit))
    except ValueError:
        raise _invalid(path, line, fields, column, f"a number in [-{limit}, {limit}]") from None


def read_metadata(path: str | os.PathLike) -> list[Recording]:
    """Read a SoundingEarth metadata.csv.

    ``key``, ``longitude`` and ``latitude`` are required and parsed; every other
    column is kept as a string (missing ones read as ""), and extra columns are
    kept in :attr:`Recording.fields`. Quoted fields may contain commas, quotes
    and line breaks.

    Args:
        path: the CSV file.

    Returns:
        The recordings in file order.

    Raises:
        FileNotFoundError: the file does not exist.
        MetadataError: a required column is missing, a row has the wrong number
            of fields, or a key or coordinate is invalid (the message gives the
            physical line where the record starts and the column).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: metadata file not found")
    recordings: list[Recording] = []
    first_line_of_key: dict[int, int] = {}
    # descriptions come from many sources; never fail on a stray byte or a very long one
    csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD_BYTES))
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as handle:
        reader = csv.reader(handle)
        try:
            header = [name.strip() for name in next(reader)]
        except StopIteration:
            raise MetadataError(
                f"{path}: the file is empty (expected a header line with the columns "
                f"{', '.join(METADATA_COLUMNS)})"
            ) from None
        except csv.Error as error:
            raise MetadataError(f"{path} line 1: {error}") from error
        if any("\ufffd" in name or "\0" in name for name in header):
            raise MetadataError(
                f"{path}: not a CSV text file (binary content); expected a header line with "
                f"the columns {', '.join(METADATA_COLUMNS)}"
            )
        missing = [name for name in REQUIRED_COLUMNS if name not in header]
        if missing:
            raise MetadataError(
                f"{path}: missing required column{'s' if len(missing) > 1 else ''} "
                f"{', '.join(repr(name) for name in missing)} "
                f"(the header has: {', '.join(header)})"
            )
        previous_line = reader.line_num
        while True:
            start_line = previous_line + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as error:
                raise MetadataError(f"{path} line {start_line}: {error}") from error
            previous_line = reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            if len(row) != len(header):
                hint = " (an unquoted comma?)" if len(row) > len(header) else ""
                raise MetadataError(
                    f"{path} line {start_line}: expected {len(header)} fields, got {len(row)}{hint}"
                )
            fields = dict(zip(header, row, strict=True))
            try:
                key = int(fields["key"].strip())
            except ValueError:
                raise _invalid(path, start_line, fields, "key", "an integer") from None
            if key in first_line_of_key:
                raise MetadataError(
                    f"{path} line {start_line}, column 'key': duplicate key {key} "
                    f"(first on line {first_line_of_key[key]})"
                )
            first_line_of_key[key] = start_line
            longitude = _coordinate(path, start_line, fields, "longitude", 180)
            latitude = _coordinate(path, start_line, fields, "latitude", 90)
            recordings.append(
                Recording(
                    key=key,
                    long_key=fields.get("long_key", ""),
                    longitude=longitude,
                    latitude=latitude,
                    title=fields.get("title", ""),
                    creator=fields.get("creator", ""),
                    licenseurl=fields.get("licenseurl", ""),
                    description=fields.get("description", ""),
                    fields=fields,
                )
            )
    return recordings
