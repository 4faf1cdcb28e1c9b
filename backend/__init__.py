"""Sounding Earth backend: audiovisual self-supervised learning for remote sensing.

Pure Python + PyTorch + rasterio. Never imports QGIS or Qt (a test enforces it),
so it runs headless on servers: ``python -m backend --help``.
"""

__version__ = "0.9.0"
