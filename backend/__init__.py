"""Sounding Earth backend: audiovisual self-supervised learning for remote sensing.

Pure Python + PyTorch + rasterio. Never imports QGIS or Qt (a test enforces it),
so it runs headless on servers: ``python -m backend --help``.
"""

import os
import sys

__version__ = "0.9.0"

# On Apple Silicon, operators without a Metal kernel run on the CPU instead of failing.
# PyTorch reads this once, when it is imported: set it before any torch import (a user's
# own setting wins; a torch imported earlier by another plugin keeps its own).
if sys.platform == "darwin":
    os.environ.setdefault("PYTORCH_ENABLE_MPS_FALLBACK", "1")
