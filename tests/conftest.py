"""Shared test configuration: headless Qt, fixed seeds, the repository root."""

from __future__ import annotations

import os
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
