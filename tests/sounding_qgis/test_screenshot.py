"""The plugin in the real QGIS desktop window (Xvfb): tools/screenshot.py on a tiny demo."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tool_modules import load_tool

ROOT = Path(__file__).resolve().parents[2]

needs_desktop = pytest.mark.skipif(
    not Path("/usr/bin/qgis").is_file() or shutil.which("xvfb-run") is None,
    reason="the QGIS desktop or Xvfb is missing: apt-get install --no-install-recommends "
    "qgis xvfb xauth (make setup does)",
)


def screenshot_tool():
    """tools/screenshot.py as a module."""
    return load_tool("screenshot")


def test_sampled_labels_are_named_points_in_wgs84(tmp_path: Path):
    import json

    import numpy as np
    import rasterio
    from osgeo import ogr
    from rasterio.transform import from_origin

    # a real class raster in UTM 33N: water left, forest right, a nodata stripe
    values = np.full((40, 40), 255, dtype=np.uint8)
    values[:, :18] = 0
    values[:, 22:] = 1
    tif = tmp_path / "scene_labels.tif"
    with rasterio.open(
        tif, "w", driver="GTiff", width=40, height=40, count=1, dtype="uint8", nodata=255,
        crs="EPSG:32633", transform=from_origin(500_000, 5_000_000, 0.5, 0.5),
    ) as dst:  # fmt: skip
        dst.write(values, 1)
        dst.update_tags(CLASS_NAMES=json.dumps(["water", "forest", "farmland"]))
    out = tmp_path / "labels.gpkg"
    tool = screenshot_tool()
    counts = tool.sample_labels(tif, out, per_class=7, seed=1)
    assert counts == {"water": 7, "forest": 7}  # farmland has no pixel
    dataset = ogr.Open(str(out))
    layer = dataset.GetLayer(0)
    assert layer.GetSpatialRef().GetAuthorityCode(None) == "4326"
    names = []
    for feature in layer:
        lon, lat = feature.GetGeometryRef().GetX(), feature.GetGeometryRef().GetY()
        assert 14.99 < lon < 15.01 and 45.15 < lat < 45.16  # UTM 33N: 500 km E, 5000 km N
        names.append(feature.GetField(tool.LABEL_FIELD))
        # the point's pixel holds its class
        with rasterio.open(tif) as src:
            from rasterio.warp import transform

            (x,), (y,) = transform("EPSG:4326", src.crs, [lon], [lat])
            row, col = src.index(x, y)
        assert ["water", "forest"][values[row, col]] == names[-1]
    assert sorted(names) == ["forest"] * 7 + ["water"] * 7


@pytest.fixture(scope="module")
def tiny_demo(tmp_path_factory) -> Path:
    """A demo-output folder in miniature: scene raster, classifier, class map, audiovisual
    model, index."""
    from backend.data.demo import CLASS_COLORS, SCENE_CLASSES, make_demo_data
    from backend.index import build_index
    from backend.models.classifier import SceneClassifier, classifier_metadata, save_classifier
    from backend.raster.classify import classify_raster
    from tests.sounding_qgis.helpers import write_audiovisual

    demo = tmp_path_factory.mktemp("demo-output")
    make_demo_data(demo, pairs=12, tile_px=64, scenes_per_class=1, scene_tif_px=256, workers=1)
    names = list(SCENE_CLASSES)
    model = SceneClassifier("resnet18", len(names), 3).eval()
    metadata = classifier_metadata(model, names, [CLASS_COLORS[n] for n in names], [1, 2, 3], 32)
    save_classifier(demo / "classifier.safetensors", model, metadata)
    # the class map `make demo` writes beside it (one cell per 16 px, as cheap as it gets)
    classify_raster(
        demo / "scene.tif",
        demo / "classifier.safetensors",
        demo / "classes.tif",
        device="cpu",
        stride=16,
    )
    (demo / "pretrain").mkdir()
    write_audiovisual(demo / "pretrain" / "model.safetensors", embed_dim=8, tile_px=32)
    build_index(
        demo / "pairs",
        demo / "pretrain" / "model.safetensors",
        demo / "index",
        device="cpu",
        max_windows=1,
        workers=1,
    )
    return demo


@pytest.mark.slow
@needs_desktop
def test_screenshots_of_the_real_window(tiny_demo: Path, plugin_zip: Path, tmp_path: Path):
    out = tmp_path / "images"
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "screenshot.py"),
            "--demo",
            str(tiny_demo),
            "--zip",
            str(plugin_zip),
            "--out",
            str(out),
            "--timeout",
            "240",
            "--labels-per-class",
            "12",
            "--stride",  # a coarse class map: 256 tiles, not 4,096
            "16",
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    from PIL import Image

    sizes = {}
    names = (
        "qgis-window.png",
        "qgis-sounds-here.png",
        "qgis-classify-dialog.png",
        "qgis-labels.png",
    )
    for name in names:
        with Image.open(out / name) as image:
            sizes[name] = image.size
            colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
            assert colours is None or len(colours) > 50, f"{name} looks empty"
    assert sizes["qgis-window.png"] == sizes["qgis-labels.png"] == (1440, 900)
    # label, train, classify: the summary of the classifier trained from the sampled points
    assert "labels-classifier.safetensors: overall accuracy (spatial folds)" in run.stdout
    assert sizes["qgis-classify-dialog.png"][0] < 1000


def test_the_window_shows_a_neutral_path_not_the_checkout(tmp_path: Path):
    """Screenshots must not carry this machine's paths: QGIS sees the demo under a link."""
    demo = tmp_path / "some" / "checkout" / "demo-output"
    demo.mkdir(parents=True)
    (demo / "classifier.safetensors").write_bytes(b"x")
    tool = screenshot_tool()
    with tool.neutral_path(demo) as shown:
        assert str(tmp_path) not in str(shown)
        assert shown.name == "sounding-earth-demo"
        assert (shown / "classifier.safetensors").read_bytes() == b"x"
        config = tmp_path / "config"
        tool.make_profile(config, zip_of_nothing(tmp_path), shown)
        ini = (config / "profiles" / "default" / "QGIS" / "QGIS3.ini").read_text()
        assert str(demo) not in ini and f"sound_index={shown / 'index'}" in ini
    assert not shown.exists() and not shown.is_symlink()


def zip_of_nothing(folder: Path) -> Path:
    """An empty plugin ZIP: make_profile unpacks whatever it is given."""
    import zipfile

    path = folder / "empty.zip"
    with zipfile.ZipFile(path, "w"):
        pass
    return path
