"""Fixtures of the raster tests: tiny model files (written once) and seeded rasters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.backend.raster.fake_rasters import (
    save_tiny_audiovisual,
    save_tiny_classifier,
    smooth_image,
    write_raster,
)


@pytest.fixture(scope="session")
def classifier_file(tmp_path_factory) -> Path:
    """A 3-class ResNet-18 classifier file: tile 32 px, trained at 0.5 m."""
    return save_tiny_classifier(tmp_path_factory.mktemp("models") / "classifier.safetensors")


@pytest.fixture(scope="session")
def audiovisual_file(tmp_path_factory) -> Path:
    """An audiovisual model file: tile 32 px, 0.5 m, 16-d embeddings."""
    return save_tiny_audiovisual(tmp_path_factory.mktemp("models") / "audiovisual.safetensors")


@pytest.fixture
def utm_raster(tmp_path) -> Path:
    """A 3-band 192 x 256 px RGB GeoTIFF in UTM 33N at 0.5 m."""
    data = smooth_image(np.random.default_rng(0), 3, 192, 256)
    return write_raster(tmp_path / "utm.tif", data)
