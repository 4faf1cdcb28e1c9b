"""A folder where every write fails for lack of space: a 4 KB tmpfs, or a file size limit.

Mounting a tmpfs needs root; where that is not allowed the same failure is made
with ``RLIMIT_FSIZE`` (SIGXFSZ ignored, so ``write()`` fails with EFBIG instead of
killing the process). :data:`MODES` lists what this machine can do.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

#: size of the tmpfs (one page: a second file, or a file over 4 KB, does not fit)
TMPFS_KB = 4
#: file size limit of the fallback (bytes)
FSIZE_LIMIT = 1024


def _can_mount() -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    probe = Path(os.environ.get("TMPDIR", "/tmp")) / f"mount-probe-{os.getpid()}"
    probe.mkdir(exist_ok=True)
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs", str(probe)], capture_output=True
        )
        if done.returncode != 0:
            return False
        subprocess.run(["umount", str(probe)], check=True)
        return True
    finally:
        probe.rmdir()


#: ``fsize`` everywhere; ``tmpfs`` too where this process may mount one
MODES = ["fsize", *(["tmpfs"] if _can_mount() else [])]


@contextlib.contextmanager
def full_folder(parent: Path, mode: str) -> Iterator[Path]:
    """A folder under ``parent`` whose writes fail for lack of space while the block runs.

    ``tmpfs``: a 4 KB tmpfs is mounted there. ``fsize``: this process's file size
    limit is lowered to :data:`FSIZE_LIMIT` bytes for the block (and restored).
    """
    folder = parent / "full"
    folder.mkdir()
    if mode == "tmpfs":
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_KB}k", "tmpfs", str(folder)], check=True
        )
        try:
            yield folder
        finally:
            subprocess.run(["umount", "-l", str(folder)], check=True)
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (FSIZE_LIMIT, hard))
    try:
        yield folder
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)
