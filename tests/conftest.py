"""Shared test configuration: headless Qt, fixed seeds, the repository root, a small disk.

Temporary files: each test's ``tmp_path`` is removed when the test passes
(``tmp_path_retention_policy = "failed"`` in pyproject.toml), and folders that a
fixture narrower than the session made with ``tmp_path_factory.mktemp`` are removed
when that fixture is torn down (kept while any test has failed, to look at); the
engine cache is emptied after each module; model files a test only reads are linked,
not copied (``tests/shared_files.py``). The controlling process samples the size of
the run's temporary folder (a linked file counted once) and prints its peak at the
end (``make test`` shows it).
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if os.environ.get("PYTEST_XDIST_WORKER"):
    # `make test` runs two test processes on two cores: one compute thread each (and for
    # the commands they start); an OpenMP thread waiting for a core held by the other
    # process spins, and made in-process training several times slower
    os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def engine_cache(tmp_path_factory) -> Path:
    """The raster engine's cache (ONNX exports) in a temporary folder, not the user's."""
    folder = tmp_path_factory.mktemp("engine-cache")
    previous = os.environ.get("SOUNDING_EARTH_ENGINE_CACHE")
    os.environ["SOUNDING_EARTH_ENGINE_CACHE"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("SOUNDING_EARTH_ENGINE_CACHE", None)
    else:
        os.environ["SOUNDING_EARTH_ENGINE_CACHE"] = previous


@pytest.fixture(scope="module", autouse=True)
def _empty_engine_cache(engine_cache: Path):
    """Empty the engine cache after each test module.

    Its ONNX exports are named after model files that mostly die with their module
    (about 40 MB each): kept, they added up to half a gigabyte in one process. A
    module that classifies with a session model again exports it again.
    """
    yield
    for entry in engine_cache.iterdir():
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


@pytest.fixture
def repo_root() -> Path:
    """The repository root."""
    return ROOT


def pytest_configure(config) -> None:
    """One compute thread in each process of a parallel run (torch may be imported already)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        import torch

        torch.set_num_threads(1)


def pytest_collection_modifyitems(config, items) -> None:
    """Skip the tests marked ``cuda`` where no CUDA GPU is present (tools/gpu_check.sh runs them)."""
    # the long ones first: a parallel run (`make test`) hands out the files that hold
    # them first, so it does not end waiting on one of them
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
    marked = [item for item in items if item.get_closest_marker("cuda") is not None]
    if not marked:
        return
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU (run tools/gpu_check.sh on a GPU machine)")
    for item in marked:
        item.add_marker(skip)


# --- temporary files: removed when no longer needed, the peak measured -------------------

#: folders each non-session fixture made with tmp_path_factory.mktemp, by fixture definition
_FIXTURE_FOLDERS: dict[int, list[Path]] = {}
_CURRENT_SETUP: list[list[Path]] = []


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef, request):
    """Note the folders a fixture narrower than the session makes while it is set up."""
    if fixturedef.scope == "session":
        return (yield)
    made: list[Path] = []
    _CURRENT_SETUP.append(made)
    try:
        return (yield)
    finally:
        _CURRENT_SETUP.pop()
        if made:
            _FIXTURE_FOLDERS.setdefault(id(fixturedef), []).extend(made)


def pytest_fixture_post_finalizer(fixturedef, request) -> None:
    """Remove the folders of a torn-down fixture, unless a test has failed."""
    folders = _FIXTURE_FOLDERS.pop(id(fixturedef), None)
    if folders and request.session.testsfailed == 0:
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def _record_fixture_folders(tmp_path_factory):
    """Route ``tmp_path_factory.mktemp`` through a recorder (see ``pytest_fixture_setup``)."""
    original = tmp_path_factory.mktemp

    def mktemp(basename: str, numbered: bool = True) -> Path:
        path = original(basename, numbered)
        if _CURRENT_SETUP:
            _CURRENT_SETUP[-1].append(path)
        return path

    tmp_path_factory.mktemp = mktemp
    yield
    tmp_path_factory.mktemp = original


def _folder_bytes(root: Path, seen: set[tuple[int, int]]) -> int:
    """The disk space of the files under ``root``; a file linked twice counts once
    (``seen`` holds the files counted so far, as ``du`` does)."""
    total = 0
    for folder, _, files in os.walk(root):
        for name in files:
            try:
                status = os.lstat(os.path.join(folder, name))
            except OSError:
                continue  # removed while we looked
            if status.st_nlink > 1:
                if (status.st_dev, status.st_ino) in seen:
                    continue
                seen.add((status.st_dev, status.st_ino))
            total += status.st_blocks * 512
    return total


class _DiskPeak:
    """Samples the size of the run's temporary folder in a thread; keeps the peak."""

    INTERVAL_S = 2.0
    #: folders named in the summary (the largest at the peak)
    SHOWN = 6

    def __init__(self, root: Path) -> None:
        self.root = root
        self.peak = 0
        self.at_peak: list[tuple[str, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="disk-peak")
        self._thread.start()

    def _sample(self) -> None:
        # the folders of each worker (popen-gw0/...) or of the single process
        sizes: dict[str, int] = {}
        seen: set[tuple[int, int]] = set()
        try:
            tops = list(self.root.iterdir())
        except OSError:
            return
        for top in tops:
            if top.is_symlink():
                continue  # pytest's "...current" links to a folder counted already
            inner = list(top.iterdir()) if top.is_dir() and top.name.startswith("popen-") else [top]
            for folder in inner:
                if folder.is_symlink():
                    continue
                sizes[f"{top.name}/{folder.name}" if folder is not top else top.name] = (
                    _folder_bytes(folder, seen) if folder.is_dir() else 0
                )
        total = sum(sizes.values())
        if total > self.peak:
            self.peak = total
            self.at_peak = sorted(sizes.items(), key=lambda item: -item[1])[: self.SHOWN]

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.INTERVAL_S)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        self._sample()
        return self.peak


_DISK_PEAK: _DiskPeak | None = None


def pytest_sessionstart(session) -> None:
    """Start measuring the temporary folder (in the controlling process only)."""
    global _DISK_PEAK
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is not None:
        _DISK_PEAK = _DiskPeak(factory.getbasetemp())


def pytest_terminal_summary(terminalreporter) -> None:
    """Print the peak size of the temporary folder."""
    if _DISK_PEAK is None:
        return
    peak = _DISK_PEAK.stop()
    largest = ", ".join(f"{name} {size / 2**20:.0f} MiB" for name, size in _DISK_PEAK.at_peak)
    terminalreporter.write_line(
        f"temporary files: peak {peak / 2**30:.2f} GiB under {_DISK_PEAK.root} "
        f"(sampled every {_DISK_PEAK.INTERVAL_S:g} s; largest then: {largest or 'none'})"
    )
