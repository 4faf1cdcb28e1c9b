"""The whole product on demo data, end to end: ``python -m backend demo`` (``make demo``).

:func:`run_demo` generates (or fetches) a dataset, pretrains an audiovisual
model, measures retrieval and transfer, trains a classifier, classifies and
sound-maps a scene raster, builds and queries a sound index, and writes
``summary.json`` and a self-contained ``report.html``. Each step is skipped on
a rerun when its outputs are complete and were made with the same settings.
"""

from __future__ import annotations

from backend.demo.config import SIZES, DemoConfig, DemoSize
from backend.demo.pipeline import run_demo

__all__ = ["SIZES", "DemoConfig", "DemoSize", "run_demo"]
