"""The raster and index commands, as a user runs them."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio
import soundfile

from backend.cli import main
from tests.backend.data.fake_soundingearth import write_fake_soundingearth
from tests.backend.raster.fake_rasters import UTM_ORIGIN, corrupt_block, smooth_image, write_raster


def test_classify_command_writes_classes_style_and_probabilities(
    tmp_path, utm_raster, classifier_file, capsys
) -> None:
    out = tmp_path / "classes.tif"
    code = main(
        [
            "classify",
            "--raster",
            str(utm_raster),
            "--model",
            str(classifier_file),
            "--out",
            str(out),
            "--stride",
            "16",
            "--batch",
            "8",
            "--device",
            "cpu",
            "--probabilities",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert f"wrote {out} (16 x 12 pixels, 192 tiles" in printed and "water:" in printed
    assert (tmp_path / "classes.qml").is_file()
    assert (tmp_path / "classes_probabilities.tif").is_file()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--extent", "0,0,10,10"], "lies outside the raster"),
        (["--extent", "1,2,3"], "expected four numbers"),
        (["--bands", "1,2"], "--bands lists 2 band"),
        (["--bands", "1,2,7"], "do not exist"),
        (["--stride", "64"], "larger than --tile"),
        (["--batch", "0"], "--batch must be at least 1"),
    ],
)
def test_classify_command_explains_bad_input(
    tmp_path, utm_raster, classifier_file, capsys, extra, message
) -> None:
    args = ["classify", "--raster", str(utm_raster), "--model", str(classifier_file)]
    code = main([*args, "--out", str(tmp_path / "c.tif"), "--device", "cpu", *extra])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "c.tif").exists()


def test_unreadable_raster_is_reported_without_a_traceback(
    tmp_path, classifier_file, capsys
) -> None:
    path = write_raster(
        tmp_path / "broken.tif", smooth_image(np.random.default_rng(0), 3, 128, 128)
    )
    corrupt_block(path, 1, 1)
    args = ["classify", "--raster", str(path), "--model", str(classifier_file)]
    assert main([*args, "--out", str(tmp_path / "c.tif"), "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert "error: " in err and "cannot read the raster window at column" in err
    assert "Traceback" not in err


def test_missing_files_are_errors(tmp_path, classifier_file, capsys) -> None:
    args = ["classify", "--raster", str(tmp_path / "nope.tif"), "--model", str(classifier_file)]
    assert main([*args, "--out", str(tmp_path / "c.tif")]) == 2
    assert "raster not found" in capsys.readouterr().err


def test_embed_soundmap_index_and_query_commands(tmp_path, audiovisual_file, capsys) -> None:
    raster = write_raster(tmp_path / "img.tif", smooth_image(np.random.default_rng(1), 3, 64, 96))
    common = ["--raster", str(raster), "--model", str(audiovisual_file), "--device", "cpu"]
    assert main(["embed", *common, "--out", str(tmp_path / "emb.tif")]) == 0
    with rasterio.open(tmp_path / "emb.tif") as dst:
        assert dst.count == 16 and (dst.width, dst.height) == (3, 2)

    rate = 16000
    t = np.arange(3 * rate) / rate
    soundfile.write(
        tmp_path / "q.wav", (0.2 * np.sin(2 * np.pi * 300 * t)).astype(np.float32), rate
    )
    heat = tmp_path / "heat.tif"
    assert main(["soundmap", *common, "--audio", str(tmp_path / "q.wav"), "--out", str(heat)]) == 0
    assert heat.is_file() and (tmp_path / "heat.qml").is_file()

    data = tmp_path / "sounds"
    write_fake_soundingearth(data, n=5, image_px=64)
    index = tmp_path / "index"
    assert (
        main(
            [
                "index",
                "--data",
                str(data),
                "--model",
                str(audiovisual_file),
                "--out",
                str(index),
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    assert "indexed 5 recordings" in capsys.readouterr().out
    extent = f"{UTM_ORIGIN[0]},{UTM_ORIGIN[1] - 32},{UTM_ORIGIN[0] + 32},{UTM_ORIGIN[1]}"
    answer = tmp_path / "answer.json"
    code = main(
        [
            "query",
            "--index",
            str(index),
            "--model",
            str(audiovisual_file),
            "--raster",
            str(raster),
            "--extent",
            extent,
            "--top",
            "3",
            "--json",
            str(answer),
            "--device",
            "cpu",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "3 closest recordings around 52." in printed and "Fake recording" in printed
    matches = json.loads(answer.read_text())["matches"]
    assert len(matches) == 3 and {"similarity", "title", "creator", "licence", "file"} <= set(
        matches[0]
    )
    assert matches[0]["distance_km"] > 0
