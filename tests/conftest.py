"""Shared test configuration: headless Qt, fixed seeds, the repository root."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def repo_root() -> Path:
    """The repository root."""
    return ROOT


def pytest_collection_modifyitems(config, items) -> None:
    """Skip the tests marked ``cuda`` where no CUDA GPU is present (tools/gpu_check.sh runs them)."""
    marked = [item for item in items if item.get_closest_marker("cuda") is not None]
    if not marked:
        return
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU (run tools/gpu_check.sh on a GPU machine)")
    for item in marked:
        item.add_marker(skip)
