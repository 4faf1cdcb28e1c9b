"""Fixtures for the plugin tests: the packaged ZIP, and isolated plugin imports."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGIN_PREFIXES = ("sounding_qgis", "backend")


def _is_ours(name: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in PLUGIN_PREFIXES)


@pytest.fixture(scope="session")
def plugin_zip(tmp_path_factory) -> Path:
    """Build the plugin ZIP exactly as ``make package`` does."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, str(ROOT / "tools" / "package_plugin.py"), "--out", str(out)],
        check=True,
        cwd=ROOT,
    )
    return out / "sounding_qgis.zip"


@pytest.fixture
def isolated_plugin_modules():
    """Forget our packages while a test imports a plugin copy; restore them afterwards.

    Lets a test load the plugin from an unpacked ZIP (not from the repository)
    without disturbing the modules other tests hold.
    """
    saved_modules = {name: mod for name, mod in sys.modules.items() if _is_ours(name)}
    saved_path = list(sys.path)
    for name in saved_modules:
        del sys.modules[name]
    try:
        yield
    finally:
        for name in [n for n in sys.modules if _is_ours(n)]:
            del sys.modules[name]
        sys.modules.update(saved_modules)
        sys.path[:] = saved_path


@pytest.fixture
def unpacked_plugin(plugin_zip: Path, tmp_path: Path) -> Path:
    """The ZIP unpacked into a fresh plugins folder; returns that folder."""
    plugins = tmp_path / "plugins"
    with zipfile.ZipFile(plugin_zip) as archive:
        archive.extractall(plugins)
    return plugins


@dataclass
class Workspace:
    """Tiny inputs made once per session: a raster, models and recordings."""

    root: Path
    raster: Path
    classifier: Path
    audiovisual: Path
    recordings: list[Path]


@pytest.fixture(scope="session")
def workspace(tmp_path_factory) -> Workspace:
    """A 128 px UTM raster, a 3-class classifier and a 16-d audiovisual model (32 px tiles)."""
    from tests.sounding_qgis.helpers import (
        write_audiovisual,
        write_classifier,
        write_raster,
        write_recordings,
    )

    root = tmp_path_factory.mktemp("workspace")
    return Workspace(
        root=root,
        raster=write_raster(root / "scene.tif"),
        classifier=write_classifier(root / "classifier.safetensors"),
        audiovisual=write_audiovisual(root / "audiovisual.safetensors"),
        recordings=write_recordings(root / "recordings", n=8),
    )


@pytest.fixture(scope="session")
def sound_collection(workspace: Workspace, tmp_path_factory) -> Path:
    """The workspace's recordings as a folder in the SoundingEarth layout (built by the backend)."""
    import csv

    from backend.data.build_pairs import build_pairs
    from tests.sounding_qgis.helpers import raster_lonlat_points

    root = tmp_path_factory.mktemp("collection")
    points = root / "points.csv"
    with open(points, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["longitude", "latitude", "audio", "title", "creator"])
        for i, ((lon, lat), audio) in enumerate(
            zip(raster_lonlat_points(len(workspace.recordings)), workspace.recordings, strict=True)
        ):
            writer.writerow([lon, lat, str(audio), f"recording {i}", f"creator {i}"])
    build_pairs(workspace.raster, points, "audio", root / "pairs", tile_metres=32.0, tile_px=32)
    return root / "pairs"


@pytest.fixture
def sounding_provider(qgis_processing):
    """The ``sounding`` provider registered for one test (removed afterwards)."""
    from qgis.core import QgsApplication

    from sounding_qgis.provider import SoundingProvider

    registry = QgsApplication.processingRegistry()
    existing = registry.providerById("sounding")
    if existing is not None:
        yield existing
        return
    provider = SoundingProvider()
    registry.addProvider(provider)
    yield provider
    registry.removeProvider(provider)


@pytest.fixture(scope="session", autouse=True)
def real_layer_tree_view(qgis_iface):
    """A real layer tree view behind ``qgis_iface.layerTreeView()``.

    pytest-qgis' interface answers it with a MagicMock; QGIS 3.44's Processing passes
    that view on to C++ (QgsProcessingGuiUtils.addResultLayers), which rejects a mock:
    a TypeError, and inside a Processing dialog's task callback an abort.
    """
    from qgis.core import QgsLayerTreeModel, QgsProject
    from qgis.gui import QgsLayerTreeView

    view = QgsLayerTreeView()
    model = QgsLayerTreeModel(QgsProject.instance().layerTreeRoot(), view)
    view.setModel(model)
    qgis_iface.layerTreeView = lambda: view
    yield view
