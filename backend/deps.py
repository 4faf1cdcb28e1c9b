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

#: approximate download and installed size, in MB (10^6 bytes), of the whole set above
#: with every dependency pip adds, for Linux x86_64 / CPython 3.11, per PyTorch build.
#: "cuda" was measured (tests/sounding_qgis/test_install_e2e.py, Debian 12, QGIS 3.22):
#: the wheels pip installed, summed from the wheel cache ``make setup`` fills (torch
#: 900, the nvidia-* CUDA libraries 2990, triton 170, the rest 80 with numpy, which
#: the installer removes again), and ``du -sb`` of the filled folder (7.25 GB).
#: "cpu" is an estimate: the same measured rest plus PyTorch's CPU wheels as listed on
#: download.pytorch.org/whl/cpu (torch 2.9.1+cpu about 185 MB, torchvision and
#: torchaudio a few MB; about 0.8 GB installed); no CPU wheel was reachable where the
#: "cuda" figures were measured. Windows and macOS wheels are of similar size.
#: ONNX Runtime and onnx (optional engines, in requirements.txt) add about 40 MB to
#: download and 134 MB installed (onnx 18, onnxruntime 16.5, ml_dtypes 5 MB wheels;
#: measured from the same wheel cache), included below.
DOWNLOAD_SIZE_MB = {"cpu": 320, "cuda": 4180}
INSTALLED_SIZE_MB = {"cpu": 1240, "cuda": 7390}


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
