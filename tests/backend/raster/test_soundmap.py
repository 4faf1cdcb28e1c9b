"""Similarity maps of a query recording."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest
import rasterio
import soundfile

from backend.audio import AudioError
from backend.models.modelfile import load_audiovisual_model
from backend.raster.embed import embed_raster
from backend.raster.soundmap import recording_embedding, soundmap_raster
from tests.backend.raster.fake_rasters import smooth_image, write_raster


@pytest.fixture
def recording(tmp_path):
    rate = 22050
    t = np.arange(int(4.0 * rate)) / rate
    samples = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * np.random.default_rng(0).standard_normal(
        t.size
    )
    path = tmp_path / "query.flac"
    soundfile.write(path, samples.astype(np.float32), rate)
    return path


def test_soundmap_is_the_cosine_similarity_of_each_tile(
    tmp_path, audiovisual_file, recording
) -> None:
    data = smooth_image(np.random.default_rng(21), 3, 96, 96).clip(1, 255)
    data[:, :32, :32] = 0
    path = write_raster(tmp_path / "in.tif", data, nodata=0)
    options = {"device": "cpu", "precision": "fp32"}
    result = soundmap_raster(path, audiovisual_file, recording, tmp_path / "heat.tif", **options)
    embed_raster(path, audiovisual_file, tmp_path / "emb.tif", **options)
    with rasterio.open(tmp_path / "heat.tif") as heat, rasterio.open(tmp_path / "emb.tif") as emb:
        similarity = heat.read(1)
        embeddings = emb.read()
        assert heat.dtypes[0] == "float32" and heat.bounds == emb.bounds
        assert float(heat.tags(1)["STATISTICS_MAXIMUM"]) == pytest.approx(result.maximum, rel=1e-5)
    model, _ = load_audiovisual_model(audiovisual_file)
    query = recording_embedding(model, recording).numpy()
    assert np.isnan(similarity[0, 0])
    expected = np.einsum("dhw,d->hw", embeddings, query)
    np.testing.assert_allclose(similarity[1:, 1:], expected[1:, 1:], atol=1e-5)
    assert -1.0 <= np.nanmin(similarity) <= np.nanmax(similarity) <= 1.0
    assert result.minimum == pytest.approx(np.nanmin(similarity))
    renderer = ET.parse(result.style).getroot().find("pipe/rasterrenderer")
    assert renderer.get("type") == "singlebandpseudocolor"
    items = renderer.findall("rastershader/colorrampshader/item")
    assert float(items[0].get("value")) == pytest.approx(result.minimum, abs=1e-6)
    assert float(items[-1].get("value")) == pytest.approx(result.maximum, abs=1e-6)


def test_unreadable_recording_is_an_audio_error(tmp_path, audiovisual_file, utm_raster) -> None:
    bad = tmp_path / "bad.mp3"
    bad.write_bytes(b"not audio at all")
    with pytest.raises(AudioError, match="bad.mp3"):
        soundmap_raster(utm_raster, audiovisual_file, bad, tmp_path / "heat.tif", device="cpu")
    assert not (tmp_path / "heat.tif").exists()
