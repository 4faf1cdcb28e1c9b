"""Tile embeddings as a multiband GeoTIFF."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
import torch

from backend.models.modelfile import load_audiovisual_model
from backend.raster.embed import embed_raster
from tests.backend.raster.fake_rasters import smooth_image, write_raster


def test_embedding_raster_holds_each_tiles_normalised_embedding(tmp_path, audiovisual_file) -> None:
    data = smooth_image(np.random.default_rng(20), 3, 64, 96).clip(1, 255)
    data[:, 32:, 64:] = 0
    path = write_raster(tmp_path / "in.tif", data, nodata=0)
    out = tmp_path / "emb.tif"
    result = embed_raster(path, audiovisual_file, out, device="cpu", precision="fp32")
    assert (result.width, result.height, result.bands) == (3, 2, 16)
    with rasterio.open(path) as src, rasterio.open(out) as dst:
        assert dst.count == 16 and dst.dtypes[0] == "float32"
        assert dst.bounds == src.bounds and dst.crs == src.crs
        assert dst.descriptions[0] == "embedding 0"
        assert dst.tags()["EMBED_DIM"] == "16"
        emb = dst.read()
    assert np.isnan(emb[:, 1, 2]).all()
    valid = emb[:, [0, 0, 0, 1, 1], [0, 1, 2, 0, 1]]
    np.testing.assert_allclose(np.linalg.norm(valid, axis=0), 1.0, rtol=1e-5)
    # the first tile is exactly the image encoder's embedding of the raster's first 32 x 32 pixels
    model, _ = load_audiovisual_model(audiovisual_file)
    with torch.inference_mode():
        first = model.encode_image(torch.from_numpy(data[None, :, :32, :32]).float() / 255.0)
    np.testing.assert_allclose(emb[:, 0, 0], first[0].numpy(), atol=1e-4)


def test_a_misspelt_setting_is_refused_by_name(tmp_path, audiovisual_file) -> None:
    path = write_raster(tmp_path / "in.tif", smooth_image(np.random.default_rng(0), 3, 32, 32))
    with pytest.raises(
        TypeError, match="embed_raster\\(\\) got an unexpected keyword argument 'strid'"
    ):
        embed_raster(path, audiovisual_file, tmp_path / "emb.tif", device="cpu", strid=16)
    assert not (tmp_path / "emb.tif").exists()
