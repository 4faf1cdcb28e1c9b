"""The plugin in the real QGIS desktop window (Xvfb): tools/screenshot.py on a tiny demo."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path("/usr/bin/qgis").is_file() or shutil.which("xvfb-run") is None,
        reason="the QGIS desktop or Xvfb is missing: apt-get install --no-install-recommends "
        "qgis xvfb xauth (make setup does)",
    ),
]


@pytest.fixture(scope="module")
def tiny_demo(tmp_path_factory) -> Path:
    """A demo-output folder in miniature: scene raster, classifier, audiovisual model, index."""
    from backend.data.demo import CLASS_COLORS, SCENE_CLASSES, make_demo_data
    from backend.index import build_index
    from backend.models.classifier import SceneClassifier, classifier_metadata, save_classifier
    from tests.sounding_qgis.helpers import write_audiovisual

    demo = tmp_path_factory.mktemp("demo-output")
    make_demo_data(demo, pairs=12, tile_px=64, scenes_per_class=1, scene_tif_px=256, workers=1)
    names = list(SCENE_CLASSES)
    model = SceneClassifier("resnet18", len(names), 3).eval()
    metadata = classifier_metadata(model, names, [CLASS_COLORS[n] for n in names], [1, 2, 3], 32)
    save_classifier(demo / "classifier.safetensors", model, metadata)
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
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    from PIL import Image

    sizes = {}
    for name in ("qgis-window.png", "qgis-sounds-here.png", "qgis-classify-dialog.png"):
        with Image.open(out / name) as image:
            sizes[name] = image.size
            colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
            assert colours is None or len(colours) > 50, f"{name} looks empty"
    assert sizes["qgis-window.png"] == (1440, 900)
    assert sizes["qgis-classify-dialog.png"][0] < 1000
