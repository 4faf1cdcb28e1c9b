"""Safe extraction of ZIP and TAR archives: nothing outside the target folder, no links.

A member is refused, and the whole extraction with it, when its name is absolute
(``/etc/x``, ``C:\\x``), climbs out with ``..`` (``\\`` counts as a separator, as
Windows reads it), or when it is a symbolic or hard link or a device, FIFO or
other special file. Files are written with default permissions (an archive's
set-uid bits or modes are not applied). Extract into a staging folder (see
:func:`backend.atomic.staged_folder`) so a refused or cancelled extraction leaves
nothing behind.
"""

from __future__ import annotations

import gzip
import lzma
import os
import re
import stat
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from backend.atomic import write_error
from backend.progress import Progress, check_cancelled

#: file name endings read as archives (case-insensitive)
ARCHIVE_SUFFIXES: tuple[str, ...] = (
    ".zip",
    ".tar",
    ".tar.gz",
    ".tgz",
    ".tar.bz2",
    ".tbz2",
    ".tar.xz",
    ".txz",
)
CHUNK = 1 << 20
_DRIVE = re.compile(r"^[A-Za-z]:")
#: errors of a damaged or unreadable archive
_DAMAGED = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    tarfile.TarError,
    EOFError,
    zlib.error,
    lzma.LZMAError,
    NotImplementedError,
    RuntimeError,  # zipfile: an encrypted member
    gzip.BadGzipFile,
)


class ArchiveError(ValueError):
    """An archive that is damaged or holds a member it may not write; the message names it."""


# (A small frozen record like backend.data.geopackage.LabelledFeature: a shape, not a meaning.)
@dataclass(frozen=True)
class Member:
    """One file or folder an archive would write."""

    #: path relative to the target folder (``/``-separated, no ``..``)
    path: str
    is_dir: bool
    #: uncompressed bytes (0 for folders)
    size: int


def is_archive(name: str) -> bool:
    """Whether a file name ends like a ZIP or TAR archive."""
    return name.lower().endswith(ARCHIVE_SUFFIXES)


def safe_member_path(archive: Path, name: str) -> str:
    """The relative path a member may be written to, or :class:`ArchiveError`.

    Raises:
        ArchiveError: An absolute name, a drive letter, a ``..`` component or an empty name.
    """
    text = name.replace("\\", "/")
    if text.startswith("/") or _DRIVE.match(text):
        raise ArchiveError(
            f"{archive}: member {name!r} has an absolute path; refused (nothing was extracted)"
        )
    parts = [part for part in text.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise ArchiveError(
            f"{archive}: member {name!r} would be written outside the target folder; refused "
            "(nothing was extracted)"
        )
    if any("\0" in part for part in parts):
        raise ArchiveError(f"{archive}: member {name!r} has a NUL byte in its name; refused")
    return str(PurePosixPath(*parts)) if parts else ""


def _zip_kind(info: zipfile.ZipInfo) -> str:
    """``file``, ``dir``, ``link`` or ``special`` from a ZIP entry's Unix mode (when it has one)."""
    mode = info.external_attr >> 16
    if info.is_dir():
        return "dir"
    if mode and stat.S_ISLNK(mode):
        return "link"
    if mode and stat.S_IFMT(mode) and not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        return "special"
    return "dir" if mode and stat.S_ISDIR(mode) else "file"


def _refuse_kind(archive: Path, name: str, kind: str) -> None:
    if kind == "link":
        raise ArchiveError(
            f"{archive}: member {name!r} is a link; links are refused (nothing was extracted)"
        )
    if kind == "special":
        raise ArchiveError(
            f"{archive}: member {name!r} is a device, FIFO or other special file; refused "
            "(nothing was extracted)"
        )


def _tar_kind(member: tarfile.TarInfo) -> str:
    if member.issym() or member.islnk():
        return "link"
    if member.isdir():
        return "dir"
    if member.isreg():
        return "file"
    return "special"


def list_members(archive: str | os.PathLike) -> list[Member]:
    """Every member an archive would write, each checked (reads a compressed TAR through).

    Raises:
        ArchiveError: A damaged archive, or a member :func:`extract_archive` refuses.
    """
    archive = Path(archive)
    members: list[Member] = []
    try:
        if archive.name.lower().endswith(".zip"):
            with zipfile.ZipFile(archive) as handle:
                for info in handle.infolist():
                    kind = _zip_kind(info)
                    _refuse_kind(archive, info.filename, kind)
                    path = safe_member_path(archive, info.filename)
                    if path:
                        members.append(Member(path, kind == "dir", info.file_size))
        else:
            with tarfile.open(archive, "r:*") as handle:
                for member in handle:
                    kind = _tar_kind(member)
                    _refuse_kind(archive, member.name, kind)
                    path = safe_member_path(archive, member.name)
                    if path:
                        members.append(Member(path, kind == "dir", member.size))
    except ArchiveError:
        raise
    except (*_DAMAGED, OSError) as exc:
        raise ArchiveError(f"{archive}: not a readable archive ({exc})") from exc
    return members


def extracted_size(archive: str | os.PathLike) -> int | None:
    """Bytes an archive's files take once extracted, when cheap to know (ZIP, TAR), else None."""
    archive = Path(archive)
    name = archive.name.lower()
    if name.endswith(".zip") or name.endswith(".tar"):
        return sum(m.size for m in list_members(archive))
    return None


def _target_path(root: Path, archive: Path, relative: str) -> Path:
    """``root / relative``, checked to stay inside ``root`` once resolved (links already there)."""
    target = root / relative
    resolved_root = root.resolve()
    if not target.resolve().is_relative_to(resolved_root):
        raise ArchiveError(
            f"{archive}: member {relative!r} would be written outside the target folder; refused"
        )
    return target


def _make_folder(folder: Path, archive: Path, relative: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        raise ArchiveError(
            f"{archive}: member {relative!r} lies under a path that is a file in the archive"
        ) from exc
    except OSError as exc:
        raise write_error(folder, exc) from exc


def _write_member(
    source, target: Path, archive: Path, relative: str, progress: Progress | None
) -> int:
    if target.is_dir():
        raise ArchiveError(f"{archive}: member {relative!r} is both a folder and a file")
    _make_folder(target.parent, archive, relative)
    written = 0
    try:
        with target.open("wb") as out:
            while True:
                check_cancelled(progress)
                block = source.read(CHUNK)
                if not block:
                    break
                out.write(block)
                written += len(block)
    except OSError as exc:
        raise write_error(target, exc) from exc
    return written


def extract_archive(
    archive: str | os.PathLike, target: str | os.PathLike, progress: Progress | None = None
) -> int:
    """Extract every file and folder of a ZIP or TAR (gz, bz2, xz) archive into ``target``.

    Checks every member first (a ZIP's directory; a TAR's headers as they come),
    so a ZIP with a bad member writes nothing; a TAR stops at the first bad member,
    and the caller removes its staging folder.

    Args:
        archive: The archive.
        target: An existing folder (a staging folder, see the module docstring).
        progress: Fraction of the archive read, and cancellation.

    Returns:
        Files written.

    Raises:
        ArchiveError: A damaged archive or a refused member.
        OutputError: The disk is full.
        Cancelled: Cancelled through ``progress``.
    """
    archive = Path(archive)
    root = Path(target)
    files = 0
    try:
        if archive.name.lower().endswith(".zip"):
            members = list_members(archive)  # every member checked before anything is written
            total = sum(m.size for m in members) or 1
            done = 0
            with zipfile.ZipFile(archive) as handle:
                for info in handle.infolist():
                    relative = safe_member_path(archive, info.filename)
                    if not relative:
                        continue
                    path = _target_path(root, archive, relative)
                    if _zip_kind(info) == "dir":
                        _make_folder(path, archive, relative)
                        continue
                    with handle.open(info) as source:
                        done += _write_member(source, path, archive, relative, progress)
                    files += 1
                    if progress is not None:
                        progress.progress(done / total, f"extracting {archive.name}")
        else:
            size = archive.stat().st_size or 1
            with archive.open("rb") as raw, tarfile.open(fileobj=raw, mode="r:*") as handle:
                for member in handle:
                    check_cancelled(progress)
                    kind = _tar_kind(member)
                    _refuse_kind(archive, member.name, kind)
                    relative = safe_member_path(archive, member.name)
                    if not relative:
                        continue
                    path = _target_path(root, archive, relative)
                    if kind == "dir":
                        _make_folder(path, archive, relative)
                        continue
                    source = handle.extractfile(member)
                    if source is None:
                        raise ArchiveError(f"{archive}: member {member.name!r} cannot be read")
                    with source:
                        _write_member(source, path, archive, relative, progress)
                    files += 1
                    if progress is not None:
                        progress.progress(min(1.0, raw.tell() / size), f"extracting {archive.name}")
    except ArchiveError:
        raise
    except (*_DAMAGED, OSError) as exc:
        # writes raise OutputError (not an OSError): what is left is a read of the archive
        raise ArchiveError(f"{archive}: the archive is damaged ({exc})") from exc
    return files
