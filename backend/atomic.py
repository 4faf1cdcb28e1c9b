"""Write files under a temporary name and rename them into place when complete.

A killed or cancelled run therefore never leaves a half-written output: the
previous file (if any) stays, and the temporary one is removed.

Temporary names are derived from the output's name and the writing process:
``.NAME.<pid>-<n>.partial<suffix>`` beside ``NAME`` (same filesystem, so the
rename is atomic). A process killed with SIGKILL cannot remove its partial
files, so a process sweeps each folder the first time it writes there: partial
files (and GDAL sidecars of them, staged folders, backups) whose process is no
longer running are removed, and a backup whose output is missing is restored.
Partial names of earlier versions (a random hex token instead of the PID) are
removed once they are an hour old. (PIDs are this machine's: writers on several
machines sharing one output folder over the network are not told apart.)

A failed write never leaves anything behind either; when it failed because the
disk is full (or the file size limit was reached) it raises :class:`OutputError`
naming the output, which the CLI prints as one line and exit status 2.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import re
import resource
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

#: ``.NAME.<pid>-<n>.partial...`` (files, GDAL sidecars of them, staged folders) and
#: ``.NAME.<pid>-<n>.backup`` (an earlier output moved aside while a folder is replaced)
_OURS = re.compile(
    r"^\.(?P<name>.+)\.(?P<pid>\d+)-(?P<n>\d+)\.(?P<kind>partial|backup)(?P<rest>.*)$"
)
#: names written by earlier versions: ``.NAME.<hex8>.partial.EXT``, ``.NAME.partial-<hex8>``,
#: ``.NAME.old-<hex8>``
_LEGACY = re.compile(r"^\..+(\.[0-9a-f]{8}\.partial|\.partial-[0-9a-f]{8}|\.old-[0-9a-f]{8})")
#: legacy partial names older than this (seconds) are removed
LEGACY_AGE_S = 3600.0
#: free bytes below which a failed write is reported as a full disk
FULL_DISK_BYTES = 1 << 20

_counter = itertools.count(1)
_active: set[str] = set()
_swept: set[str] = set()
_lock = threading.Lock()


class OutputError(Exception):
    """An output could not be written (disk full, file size limit, an incomplete file)."""


def _token() -> str:
    with _lock:
        token = f"{os.getpid()}-{next(_counter)}"
        _active.add(token)
    return token


def _release(token: str) -> None:
    with _lock:
        _active.discard(token)


def temporary_sibling(path: str | os.PathLike, kind: str = "partial") -> Path:
    """A temporary name in the same folder, unique to this process and write.

    ``kind`` is ``partial`` (the file or folder being written) or ``backup`` (an
    earlier output moved aside). The name is registered as in use by this
    process until :func:`release_temporary` (``atomic_path`` does both).
    """
    path = Path(path)
    suffix = path.suffix if kind == "partial" else ""
    return path.with_name(f".{path.name}.{_token()}.{kind}{suffix}")


def release_temporary(tmp: str | os.PathLike) -> None:
    """Mark a name from :func:`temporary_sibling` as no longer in use by this process."""
    match = _OURS.match(Path(tmp).name)
    if match:
        _release(f"{match['pid']}-{match['n']}")


def _pid_running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OverflowError:
        return False
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _stale(match: re.Match) -> bool:
    pid = int(match["pid"])
    if pid == os.getpid():
        with _lock:
            return f"{match['pid']}-{match['n']}" not in _active
    return not _pid_running(pid)


def remove_stale_partials(folder: str | os.PathLike) -> list[Path]:
    """Remove what killed writers left in ``folder``; return the paths removed.

    Partial files and folders of processes that are no longer running go; a backup
    of such a process is restored when its output is missing (the writer died
    between moving the old output aside and moving the new one in), else removed.
    """
    folder = Path(folder)
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        name = entry.name
        if not name.startswith("."):
            continue
        path = Path(entry.path)
        match = _OURS.match(name)
        if match is not None:
            if not _stale(match):
                continue
            output = folder / match["name"]
            if match["kind"] == "backup" and not match["rest"] and not output.exists():
                with contextlib.suppress(OSError):
                    os.replace(path, output)
                    continue
            _remove(path)
            removed.append(path)
        elif _LEGACY.match(name):
            with contextlib.suppress(OSError):
                if now - entry.stat(follow_symlinks=False).st_mtime > LEGACY_AGE_S:
                    _remove(path)
                    removed.append(path)
    return removed


def sweep_once(folder: str | os.PathLike) -> None:
    """:func:`remove_stale_partials` on ``folder``, the first time this process writes there.

    Once is enough (a killed writer's files are there before this process starts)
    and keeps a run that writes thousands of files into one folder from scanning it
    before each.
    """
    key = os.path.abspath(folder)
    with _lock:
        if key in _swept:
            return
        _swept.add(key)
    remove_stale_partials(folder)


def _remove_partial(tmp: Path) -> None:
    """Remove a partial file or folder and GDAL's sidecars of it (``.aux.xml``, ``.ovr``)."""
    _remove(tmp)
    for sidecar in tmp.parent.glob(glob_escape(tmp.name) + ".*"):
        _remove(sidecar)


def glob_escape(name: str) -> str:
    """``name`` with glob wildcards escaped."""
    return re.sub(r"([*?[])", r"[\1]", name)


#: how a full disk and a reached file size limit are described
FULL_DISK = "no space left on the device (the disk is full)"
FILE_SIZE_LIMIT = "the file size limit was reached (the disk is full for this process)"
#: how libraries that drop the errno (safetensors, GDAL) say it
_FULL_MESSAGES = ("No space left on device", "StorageFull", "os error 28")
_FSIZE_MESSAGES = ("File too large", "FileTooLarge", "os error 27")


def _chain(error: BaseException | None) -> Iterator[BaseException]:
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def _messages(error: BaseException | None) -> str:
    return " ".join(str(e) for e in _chain(error))


def _is_write_failure(error: BaseException | None) -> bool:
    """An I/O error, a failed check of an output, or an error of rasterio/GDAL."""
    return any(
        isinstance(e, (OSError, OutputError)) or type(e).__module__.startswith("rasterio")
        for e in _chain(error)
    )


def _errnos(error: BaseException | None) -> Iterator[int]:
    for e in _chain(error):
        if isinstance(e, OSError) and e.errno is not None:
            yield e.errno


def out_of_space(folder: str | os.PathLike, error: BaseException | None, tmp=None) -> str | None:
    """Why a failed write failed, if for lack of space: a phrase for the message, else None.

    Looks at the error's errno (ENOSPC, EDQUOT, EFBIG), then (for GDAL, whose write
    errors carry no errno) at the free space left on ``folder``'s filesystem and at
    the size of ``tmp`` against this process's file size limit.
    """
    codes = set(_errnos(error))
    text = _messages(error)
    if codes & {errno.ENOSPC, errno.EDQUOT} or any(m in text for m in _FULL_MESSAGES):
        return FULL_DISK
    if errno.EFBIG in codes or any(m in text for m in _FSIZE_MESSAGES):
        return FILE_SIZE_LIMIT
    if not _is_write_failure(error):
        return None  # a cancellation or a bad input is never blamed on the disk
    with contextlib.suppress(OSError):
        if shutil.disk_usage(folder).free < FULL_DISK_BYTES:
            return FULL_DISK
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    if tmp is not None and limit != resource.RLIM_INFINITY:
        with contextlib.suppress(OSError):
            sizes = [Path(tmp).stat().st_size]
            sizes += [
                p.stat().st_size for p in Path(tmp).parent.glob(glob_escape(Path(tmp).name) + "*")
            ]
            if max(sizes) >= limit - FULL_DISK_BYTES // 16:
                return FILE_SIZE_LIMIT
    return None


def _one_line(text: str) -> str:
    return " ".join(text.split())


def write_error(
    final: str | os.PathLike, error: BaseException, tmp: str | os.PathLike | None = None
) -> OutputError:
    """The :class:`OutputError` for a failed write of ``final`` (written as ``tmp``).

    Its message names ``final`` and says the disk is full when it is (see
    :func:`out_of_space`); otherwise it carries the library's own message (GDAL's,
    the operating system's), with the temporary name replaced by the output's.
    """
    final = Path(final)
    reason = out_of_space(final.parent, error, tmp)
    if reason is None:
        reason = _one_line(str(error)) or type(error).__name__
        if tmp is not None:
            reason = reason.replace(str(tmp), str(final)).replace(Path(tmp).name, final.name)
    return OutputError(f"cannot write {final}: {reason}")


@contextlib.contextmanager
def writing(final: str | os.PathLike, tmp: str | os.PathLike | None = None) -> Iterator[None]:
    """Turn an I/O or GDAL/rasterio error raised in the block into an :class:`OutputError`.

    Wrap only writes of ``final`` (to ``tmp``) in it: a read error of an input is
    no output's fault. Other exceptions (a cancellation, a bad value) pass unchanged.
    """
    try:
        yield
    except OutputError:
        raise
    except Exception as error:
        if not _is_write_failure(error):
            raise
        raise write_error(final, error, tmp) from error


def is_write_error(error: BaseException, tmp: str | os.PathLike) -> bool:
    """Whether ``error`` is an I/O or GDAL error about ``tmp`` (or a file inside it).

    Such an error raised while an output is staged at ``tmp`` is a failed write of
    that output (GDAL's "Write failed" carries no errno), not a crash.
    """
    if isinstance(error, OutputError) or not _is_write_failure(error):
        return False
    tmp = Path(tmp)
    for e in _chain(error):
        names = [getattr(e, "filename", None), getattr(e, "filename2", None)]
        if any(isinstance(n, (str, bytes)) and str(tmp) in os.fsdecode(n) for n in names):
            return True
    return tmp.name in _messages(error)


class StagedOutputs:
    """Several outputs written under temporary names and renamed into place together.

    ``path(final)`` gives the temporary path to write ``final`` to; ``write_text``
    stages a small text file (a style, a JSON report). Nothing appears at a final
    path until :meth:`commit`, which runs each output's check first and then renames
    them in staging order; a failure anywhere removes every temporary file.
    """

    def __init__(self) -> None:
        self._items: list[tuple[Path, Path, Callable[[Path], None] | None]] = []

    def path(self, final: str | os.PathLike, verify: Callable[[Path], None] | None = None) -> Path:
        """Stage ``final``: the temporary path to write it to (``verify(tmp)`` runs before the rename)."""
        final = Path(final)
        final.parent.mkdir(parents=True, exist_ok=True)
        sweep_once(final.parent)
        tmp = temporary_sibling(final)
        self._items.append((tmp, final, verify))
        return tmp

    def write_text(self, final: str | os.PathLike, text: str) -> None:
        """Stage a UTF-8 text file."""
        tmp = self.path(final)
        with writing(final, tmp):
            tmp.write_text(text, encoding="utf-8")

    def commit(self) -> None:
        """Check every output, then rename them all into place."""
        for tmp, _, verify in self._items:
            if verify is not None:
                verify(tmp)
        for tmp, final, _ in self._items:
            if final.is_dir() and not tmp.is_dir():
                raise OutputError(f"cannot write {final}: it is a folder; choose a file name")
            with writing(final, tmp):
                os.replace(tmp, final)
            release_temporary(tmp)

    def abort(self, error: BaseException | None = None) -> None:
        """Remove every temporary file; with ``error``, raise :class:`OutputError` if the disk is full."""
        reason = None
        if error is not None:
            for tmp, final, _ in self._items:
                reason = out_of_space(final.parent, error, tmp)
                if reason:
                    replacement = OutputError(f"cannot write {final}: {reason}")
                    break
            else:
                # an I/O or GDAL error about one of the temporary files: a failed write
                # of that output, not a crash (e.g. GDAL's "Write failed" without errno)
                for tmp, final, _ in self._items:
                    if is_write_error(error, tmp):
                        replacement = write_error(final, error, tmp)
                        reason = str(replacement)
                        break
        for tmp, _, _ in self._items:
            _remove_partial(tmp)
            release_temporary(tmp)
        if reason:
            raise replacement from error


@contextlib.contextmanager
def staged_outputs() -> Iterator[StagedOutputs]:
    """A :class:`StagedOutputs` committed when the block exits normally, else removed.

    Raises:
        OutputError: A write failed for lack of space (the message names the output).
    """
    staged = StagedOutputs()
    try:
        yield staged
        staged.commit()
    except BaseException as error:
        staged.abort(error)
        raise


@contextlib.contextmanager
def atomic_path(
    path: str | os.PathLike, verify: Callable[[Path], None] | None = None
) -> Iterator[Path]:
    """Yield a temporary path to write to; rename it onto ``path`` on success.

    On any exception (including cancellation) the temporary file is deleted and
    ``path`` is left untouched. Stale partial files of killed writers in the same
    folder are removed first.

    Raises:
        OutputError: The write failed for lack of space.
    """
    with staged_outputs() as staged:
        yield staged.path(path, verify)


@contextlib.contextmanager
def staged_folder(out: str | os.PathLike) -> Iterator[Path]:
    """Yield a hidden staging folder inside ``out``; publish its entries on success.

    Each top-level file or folder written into the staging folder replaces the
    entry of the same name in ``out`` when the block finishes without error;
    other entries of ``out`` are left alone. On any exception (cancellation
    included) the staging folder is deleted and ``out`` is untouched. The staging
    folder and the entries moved aside carry this module's temporary names, so a
    killed run's leftovers are swept by the next write into ``out``.

    Args:
        out: the output folder (created if needed).

    Raises:
        ValueError: ``out`` exists and is not a folder.
        OutputError: A write into the staging folder failed (a full disk).
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} exists and is not a folder; choose a folder for the output")
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    sweep_once(out)
    stage = temporary_sibling(out / "staged")
    stage.mkdir()
    try:
        yield stage
        for entry in sorted(stage.iterdir()):
            target = out / entry.name
            if target.is_dir() and not target.is_symlink():
                old = temporary_sibling(target, "backup")
                os.replace(target, old)
                os.replace(entry, target)
                shutil.rmtree(old, ignore_errors=True)
                release_temporary(old)
            else:
                if entry.is_dir() and (target.is_file() or target.is_symlink()):
                    target.unlink()
                os.replace(entry, target)
        stage.rmdir()
        release_temporary(stage)
    except BaseException as error:
        shutil.rmtree(stage, ignore_errors=True)
        release_temporary(stage)
        if created:
            with contextlib.suppress(OSError):
                out.rmdir()  # only if still empty: the failed run leaves nothing behind
        # a write into the staging folder failed (a full disk, GDAL's or PIL's error):
        # an error naming the output, not a traceback
        if not isinstance(error, OutputError) and (
            out_of_space(out, error) or is_write_error(error, stage)
        ):
            raise write_error(out, error, stage) from error
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
