"""The backend's third-party packages, and a check for which cannot be imported.

Imported by the QGIS plugin before anything heavy, so it imports nothing but the
standard library.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

#: import name -> pip requirement (pinned as in requirements.txt)
REQUIRED_PACKAGES: dict[str, str] = {
    "torch": "torch==2.9.1",
    "torchvision": "torchvision==0.24.1",
    "torchaudio": "torchaudio==2.9.1",
    "rasterio": "rasterio==1.4.4",
    "soundfile": "soundfile==0.14.0",
    "safetensors": "safetensors==0.7.0",
}

#: import names of the PyTorch family, whose build (CPU or CUDA) the installer chooses
TORCH_PACKAGES = ("torch", "torchvision", "torchaudio")

#: approximate download and installed size, in MB, of the whole set above with every
#: dependency pip adds, for Linux x86_64 / CPython 3.11, per PyTorch build.
#: "cuda" was measured: the wheels pip downloads (torch 900 MB, the nvidia-* CUDA
#: libraries 2.9 GB, triton 170 MB, the rest 80 MB; sizes of the files in the
#: wheel cache ``make setup`` fills) and ``du -sm`` of the folder the installer
#: filled (tests/sounding_qgis/test_install_e2e.py prints it).
#: "cpu" adds PyTorch's published CPU wheels (torch 2.9.1+cpu about 185 MB,
#: torchvision/torchaudio about 2 MB each, as listed on download.pytorch.org/whl/cpu)
#: to the same measured rest; no CPU wheel is reachable where the "cuda" figures
#: were measured, so it is an estimate. Windows and macOS wheels are of similar size.
DOWNLOAD_SIZE_MB = {"cpu": 280, "cuda": 4100}
INSTALLED_SIZE_MB = {"cpu": 1100, "cuda": 6900}


def missing_packages(names: list[str] | None = None) -> list[str]:
    """Return the import names among ``names`` (default: all required) that cannot be found."""
    missing = []
    for name in names or list(REQUIRED_PACKAGES):
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(name)
    return missing


def requirements_for(names: list[str]) -> list[str]:
    """The pinned pip requirements for the given import names."""
    return [REQUIRED_PACKAGES[name] for name in names]


def requirements_file() -> Path | None:
    """requirements.txt next to the backend (in the repository or the plugin ZIP), if present."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "requirements.txt", here / "requirements.txt"):
        if candidate.is_file():
            return candidate
    return None
