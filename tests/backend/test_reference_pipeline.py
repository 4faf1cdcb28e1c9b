"""Every audiovisual command runs an imported reference-family model unchanged (CLI, tiny data)."""

from __future__ import annotations

import json

import numpy as np
import rasterio
from PIL import Image

from backend.cli import main
from tests.backend.data.fake_soundingearth import write_fake_soundingearth
from tests.backend.models.fake_reference_checkpoint import write_fake_checkpoint
from tests.backend.raster.fake_rasters import UTM_ORIGIN, smooth_image, write_raster


def test_evaluate_index_query_embed_soundmap_with_an_imported_model(tmp_path, capsys) -> None:
    checkpoint = tmp_path / "latest.pt"
    write_fake_checkpoint(checkpoint, embed_dim=8, seed=2)
    model = tmp_path / "reference.safetensors"
    args = ["--checkpoint", str(checkpoint), "--image-arch", "resnet18", "--out", str(model)]
    assert main(["import-reference", *args]) == 0

    # the dataset as SoundingEarth ships it: images/*.jpg and spectrograms/*.jpg, no audio
    data = tmp_path / "soundingearth"
    keys = write_fake_soundingearth(data, n=6, with_audio=False, with_spectrograms=True)
    assert sorted(int(p.stem) for p in (data / "spectrograms").glob("*.jpg")) == keys
    report = tmp_path / "eval.json"
    code = main(
        ["evaluate", "--data", str(data), "--model", str(model), "--split", "all"]
        + ["--json", str(report), "--device", "cpu"]
    )
    assert code == 0, capsys.readouterr().err
    metrics = json.loads(report.read_text())
    assert metrics["n"] == 6
    assert 1 <= metrics["image_to_sound"]["median_rank"] <= 6

    index = tmp_path / "index"
    code = main(
        ["index", "--data", str(data), "--model", str(model), "--out", str(index)]
        + ["--device", "cpu"]
    )
    assert code == 0
    assert "indexed 6 recordings" in capsys.readouterr().out

    # the raster must hold one 192 px tile, the reference's input size
    raster = write_raster(tmp_path / "img.tif", smooth_image(np.random.default_rng(1), 3, 200, 200))
    side = 200 * 0.5
    extent = f"{UTM_ORIGIN[0]},{UTM_ORIGIN[1] - side},{UTM_ORIGIN[0] + side},{UTM_ORIGIN[1]}"
    answer = tmp_path / "answer.json"
    code = main(
        ["query", "--index", str(index), "--model", str(model), "--raster", str(raster)]
        + ["--extent", extent, "--top", "3", "--json", str(answer), "--device", "cpu"]
    )
    assert code == 0, capsys.readouterr().err
    matches = json.loads(answer.read_text())["matches"]
    assert len(matches) == 3
    assert all(-1.0 <= m["similarity"] <= 1.0 for m in matches)
    assert {m["key"] for m in matches} <= set(keys)

    common = ["--raster", str(raster), "--model", str(model), "--device", "cpu"]
    embedded = tmp_path / "emb.tif"
    assert main(["embed", *common, "--stride", "96", "--out", str(embedded)]) == 0
    with rasterio.open(embedded) as dst:
        assert dst.count == 8
        values = dst.read()
    finite = values[:, np.isfinite(values).all(axis=0)]
    assert finite.size and np.allclose(np.linalg.norm(finite, axis=0), 1.0, atol=1e-4)

    spectrogram = data / "spectrograms" / f"{keys[0]}.jpg"
    assert Image.open(spectrogram).size[1] == 128
    heat = tmp_path / "heat.tif"
    code = main(
        ["soundmap", *common, "--stride", "96", "--audio", str(spectrogram)] + ["--out", str(heat)]
    )
    assert code == 0
    with rasterio.open(heat) as dst:
        similarity = dst.read(1)
    valid = similarity[np.isfinite(similarity)]
    assert valid.size and (np.abs(valid) <= 1.0 + 1e-5).all()
