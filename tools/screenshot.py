"""Screenshots of the real QGIS window with the plugin: ``make screenshot``.

Starts the QGIS desktop (Debian's ``qgis`` package) under Xvfb with a fresh
profile that has the plugin installed from dist/sounding_qgis.zip, opens the
demo raster and its class layer, opens the "Sounds here" panel and the
"Classify imagery layer" dialog, and saves PNGs of the window, the panel and
the dialog into docs/images/. Then it walks through "label, train, classify":
it samples labelled points (class names as text, in EPSG:4326) from the demo's
ground-truth raster, trains a classifier from them (``train_from_labels``,
linear probe on the demo's audiovisual model, with ``--compare``), classifies
the scene with it (and its confidence map), and shows the scene, the new class
map and the points in the window with the report in the message bar
(docs/images/qgis-labels.png).

Needs ``make demo`` (demo-output/data/scene.tif, classifier.safetensors,
pretrain/model.safetensors, index/) and ``make package`` first, and
``apt-get install --no-install-recommends qgis xvfb xauth``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import zipfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QGIS = Path("/usr/bin/qgis")
SCREEN = "1440x900x24"
SHOTS = (
    "qgis-window.png",
    "qgis-sounds-here.png",
    "qgis-classify-dialog.png",
    "qgis-labels.png",
)
#: the class field of the sampled labels
LABEL_FIELD = "landcover"

# Runs inside QGIS (--code): arranges the window, waits for rendering and the
# panel's query, grabs the widgets, and quits.
STARTUP_CODE = textwrap.dedent(
    """
    import os, traceback
    from pathlib import Path
    import qgis.utils
    from qgis.core import QgsProject, QgsRasterLayer
    from qgis.PyQt.QtCore import QTimer, QCoreApplication
    from qgis.utils import iface

    OUT = Path(os.environ["SOUNDING_SCREENSHOT_OUT"])
    SCENE = os.environ["SOUNDING_SCREENSHOT_SCENE"]
    CLASSES = os.environ["SOUNDING_SCREENSHOT_CLASSES"]
    state = {"waited": 0}


    def log(text):
        with open(OUT / "screenshot.log", "a", encoding="utf-8") as handle:
            handle.write(text + "\\n")


    def finish(code=0):
        QgsProject.instance().setDirty(False)
        os._exit(code)


    def guarded(step):
        def run():
            try:
                step()
            except Exception:
                log(traceback.format_exc())
                finish(1)
        return run


    def grab(widget, name):
        widget.grab().save(str(OUT / name))
        log(f"saved {name}")


    def arrange():
        window = iface.mainWindow()
        window.setGeometry(0, 0, 1440, 900)
        project = QgsProject.instance()
        scene = QgsRasterLayer(SCENE, "demo scene", "gdal")
        classes = QgsRasterLayer(CLASSES, "demo scene classes", "gdal")
        project.addMapLayer(scene)
        project.addMapLayer(classes)
        plugin = qgis.utils.plugins["sounding_qgis"]
        from sounding_qgis.layers import apply_class_style
        from backend.models.modelfile import load_model_metadata
        from backend.raster.style import class_colours
        from sounding_qgis.settings import DEFAULT_PATHS

        metadata = load_model_metadata(DEFAULT_PATHS["classifier_model"])
        names = list(metadata.class_names)
        apply_class_style(classes, names, class_colours(names, metadata.class_colors))
        classes.renderer().setOpacity(0.6)
        iface.setActiveLayer(scene)
        canvas = iface.mapCanvas()
        canvas.setExtent(scene.extent())
        canvas.refresh()
        plugin.dock.layer_combo.setLayer(scene)
        plugin.toggle_dock(True)
        plugin.dock.refresh()
        QTimer.singleShot(1000, guarded(wait_for_panel))


    def wait_for_panel():
        plugin = qgis.utils.plugins["sounding_qgis"]
        dock = plugin.dock
        state["waited"] += 1
        if (dock.task is not None or not dock.matches) and state["waited"] < 120:
            QTimer.singleShot(1000, guarded(wait_for_panel))
            return
        dock.table.selectRow(0)
        dock.show_on_map(0)
        iface.mapCanvas().waitWhileRendering()
        QCoreApplication.processEvents()
        grab(iface.mainWindow(), "qgis-window.png")
        grab(dock, "qgis-sounds-here.png")
        from sounding_qgis.dialogs import ClassifyDialog

        dialog = ClassifyDialog(iface)
        dialog.show()
        dialog.adjustSize()
        QTimer.singleShot(800, guarded(lambda: shoot_dialog(dialog)))


    def shoot_dialog(dialog):
        grab(dialog, "qgis-classify-dialog.png")
        dialog.close()
        show_labels()


    def show_labels():
        # label, train, classify: the class map trained from the points, and the points
        import json
        from qgis.core import (
            QgsCategorizedSymbolRenderer,
            QgsMarkerSymbol,
            QgsRendererCategory,
            QgsVectorLayer,
        )
        from sounding_qgis.labels_action import on_finished

        plugin = qgis.utils.plugins["sounding_qgis"]
        plugin.toggle_dock(False)
        project = QgsProject.instance()
        root = project.layerTreeRoot()
        for layer in list(project.mapLayers().values()):
            if layer.name() != "demo scene":
                project.removeMapLayer(layer.id())
        root.findLayer(project.mapLayersByName("demo scene")[0].id()).setExpanded(False)
        labels = json.loads(os.environ["SOUNDING_SCREENSHOT_LABELS"])
        confidence = QgsRasterLayer(labels["confidence"], "confidence", "gdal")
        confidence.loadNamedStyle(labels["confidence_style"])
        project.addMapLayer(confidence)
        node = root.findLayer(confidence.id())
        node.setItemVisibilityChecked(False)
        node.setExpanded(False)
        classes = QgsRasterLayer(labels["classes"], "classes from labels", "gdal")
        classes.loadNamedStyle(labels["classes_style"])
        classes.renderer().setOpacity(0.55)
        project.addMapLayer(classes)
        points = QgsVectorLayer(labels["points"], "labelled points", "ogr")
        categories = []
        for name, colour in labels["colours"].items():
            symbol = QgsMarkerSymbol.createSimple(
                {"name": "circle", "color": colour, "size": "3.2",
                 "outline_color": "#ffffff", "outline_width": "0.5"}
            )
            categories.append(QgsRendererCategory(name, symbol, name))
        points.setRenderer(QgsCategorizedSymbolRenderer(labels["field"], categories))
        project.addMapLayer(points)
        root.findLayer(points.id()).setExpanded(True)
        iface.setActiveLayer(points)
        # what the toolbar action does when the algorithm has finished (no dialog here)
        on_finished(iface, None, True, labels["results"])
        canvas = iface.mapCanvas()
        canvas.setExtent(classes.extent())
        canvas.refresh()
        QTimer.singleShot(2500, guarded(shoot_labels))


    def shoot_labels():
        iface.mapCanvas().waitWhileRendering()
        QCoreApplication.processEvents()
        grab(iface.mainWindow(), "qgis-labels.png")
        finish(0)


    QTimer.singleShot(4000, guarded(arrange))
    """
)


def fail(message: str) -> int:
    print(f"screenshot: {message}", file=sys.stderr)
    return 1


def scene_raster(demo: Path) -> Path:
    """The demo's scene raster: ``data/scene.tif`` as ``make demo`` writes it (or ``scene.tif``)."""
    nested = demo / "data" / "scene.tif"
    return nested if nested.is_file() else demo / "scene.tif"


def class_raster(demo: Path, work: Path) -> Path:
    """The demo's class layer: classified with the demo classifier unless it exists already."""
    for existing in (demo / "classes.tif", demo / "scene_classes.tif"):
        if existing.is_file():
            return existing
    sys.path.insert(0, str(ROOT))
    from backend.raster.classify import classify_raster

    out = work / "scene_classes.tif"
    classify_raster(scene_raster(demo), demo / "classifier.safetensors", out, device="auto")
    return out


def label_raster(demo: Path) -> Path:
    """The demo's ground-truth class raster (``data/scene_labels.tif`` or ``scene_labels.tif``)."""
    nested = demo / "data" / "scene_labels.tif"
    return nested if nested.is_file() else demo / "scene_labels.tif"


def demo_class_colours(demo: Path) -> dict[str, str]:
    """``{class name: "#rrggbb"}`` of the demo's classifier (its model file's metadata)."""
    sys.path.insert(0, str(ROOT))
    from backend.models.modelfile import load_model_metadata
    from backend.raster.style import class_colours

    metadata = load_model_metadata(demo / "classifier.safetensors")
    names = list(metadata.class_names)
    return dict(zip(names, class_colours(names, metadata.class_colors), strict=True))


def sample_labels(labels_tif: Path, out: Path, per_class: int = 30, seed: int = 0) -> dict:
    """Write labelled points sampled from a class raster: a GeoPackage in EPSG:4326.

    ``per_class`` pixels (at most) of every class in the raster's ``CLASS_NAMES`` tag
    are drawn at random (``seed``); each becomes a point at the pixel's centre with
    the class name as text in the field ``LABEL_FIELD``. Returns ``{name: count}``.
    """
    import numpy as np
    import rasterio
    from osgeo import ogr, osr
    from rasterio.transform import xy
    from rasterio.warp import transform as reproject_points

    with rasterio.open(labels_tif) as src:
        values = src.read(1)
        names = json.loads(src.tags()["CLASS_NAMES"])
        crs, affine = src.crs, src.transform
    rng = np.random.default_rng(seed)
    xs, ys, classes = [], [], []
    counts = {}
    for value, name in enumerate(names):
        rows, cols = np.nonzero(values == value)
        if rows.size == 0:
            continue
        pick = rng.choice(rows.size, size=min(per_class, rows.size), replace=False)
        x, y = xy(affine, rows[pick], cols[pick])  # pixel centres
        xs += list(np.atleast_1d(x))
        ys += list(np.atleast_1d(y))
        classes += [name] * pick.size
        counts[name] = int(pick.size)
    lons, lats = reproject_points(crs, "EPSG:4326", xs, ys)
    wgs84 = osr.SpatialReference()
    wgs84.ImportFromEPSG(4326)
    wgs84.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    partial = out.with_name(out.stem + ".partial" + out.suffix)
    partial.unlink(missing_ok=True)
    dataset = ogr.GetDriverByName("GPKG").CreateDataSource(str(partial))
    layer = dataset.CreateLayer("labels", wgs84, ogr.wkbPoint)
    layer.CreateField(ogr.FieldDefn(LABEL_FIELD, ogr.OFTString))
    for lon, lat, name in zip(lons, lats, classes, strict=True):
        feature = ogr.Feature(layer.GetLayerDefn())
        feature.SetField(LABEL_FIELD, name)
        point = ogr.Geometry(ogr.wkbPoint)
        point.AddPoint_2D(lon, lat)
        feature.SetGeometry(point)
        layer.CreateFeature(feature)
    dataset = None  # closes the file
    partial.replace(out)
    return counts


def label_train_classify(
    demo: Path, work: Path, per_class: int = 30, compare: bool = True, stride: int | None = None
) -> dict:
    """Label, train, classify on the demo: points, classifier + report, class map.

    ``stride``: the class map's pixel side in tile pixels (None: the classifier's default).
    Returns what the QGIS side shows: the paths, the class colours and the summary.
    """
    sys.path.insert(0, str(ROOT))
    from backend.labels import LabelsConfig, train_from_labels
    from backend.raster.classify import classify_raster

    colours = demo_class_colours(demo)
    points = work / "labels.gpkg"
    sample_labels(label_raster(demo), points, per_class=per_class)
    model = work / "labels-classifier.safetensors"
    result = train_from_labels(
        LabelsConfig(
            raster=str(scene_raster(demo)),
            labels=str(points),
            field=LABEL_FIELD,
            out=str(model),
            init=str(demo / "pretrain" / "model.safetensors"),
            mode="linear",
            compare=compare,
            class_colours=colours,
        )
    )
    classes = work / "labels-classes.tif"
    confidence = work / "labels-confidence.tif"
    classify_raster(
        scene_raster(demo), model, classes, device="auto", confidence=confidence, stride=stride
    )
    print(result.summary)
    methods = result.report.get("methods") or []
    return {
        "points": str(points),
        "field": LABEL_FIELD,
        "colours": colours,
        "classes": str(classes),
        "classes_style": str(classes.with_suffix(".qml")),
        "confidence": str(confidence),
        "confidence_style": str(confidence.with_suffix(".qml")),
        # the Processing algorithm's outputs, as the toolbar action receives them
        "results": {
            "OUTPUT": str(model),
            "REPORT": str(result.report_html),
            "ACCURACY": methods[0]["overall_accuracy"] if methods else math.nan,
            "BASELINE": next(
                (m["overall_accuracy"] for m in methods if m.get("init_kind") == "majority"),
                math.nan,
            ),
        },
    }


@contextlib.contextmanager
def neutral_path(demo: Path) -> Iterator[Path]:
    """``demo`` under a path that says nothing about this machine, for the window to show.

    The panels show the model and index paths in full; a screenshot must not carry the
    checkout's location, so QGIS is pointed at ``<tmp>/sounding-earth-demo``, a symbolic
    link to ``demo`` that is removed afterwards (the plugin does not resolve links).
    """
    link = Path(tempfile.gettempdir()) / "sounding-earth-demo"
    fresh = link.with_name(f"{link.name}.{os.getpid()}")
    fresh.symlink_to(demo, target_is_directory=True)
    os.replace(fresh, link)
    try:
        yield link
    finally:
        if link.is_symlink() and Path(os.readlink(link)) == demo:
            link.unlink()


def make_profile(config: Path, plugin_zip: Path, demo: Path) -> None:
    """A fresh QGIS profile with the plugin unpacked, enabled, and pointed at the demo models."""
    profile = config / "profiles" / "default"
    plugins = profile / "python" / "plugins"
    plugins.mkdir(parents=True)
    with zipfile.ZipFile(plugin_zip) as archive:
        archive.extractall(plugins)
    # QGIS3.ini under QGIS 3, QGIS4.ini under QGIS 4 (its profiles are kept apart)
    from qgis.core import QgsApplication

    ini = profile / "QGIS" / f"{QgsApplication.QGIS_APPLICATION_NAME}.ini"
    ini.parent.mkdir(parents=True)
    ini.write_text(
        textwrap.dedent(
            f"""
            [PythonPlugins]
            sounding_qgis=true

            [sounding_earth]
            classifier_model={demo / "classifier.safetensors"}
            audiovisual_model={demo / "pretrain" / "model.safetensors"}
            sound_index={demo / "index"}

            [qgis]
            checkVersion=false
            showTips=false
            """
        ).lstrip(),
        encoding="utf-8",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--demo", type=Path, default=ROOT / "demo-output")
    parser.add_argument("--zip", type=Path, default=ROOT / "dist" / "sounding_qgis.zip")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument("--timeout", type=int, default=300, help="seconds QGIS may take")
    parser.add_argument(
        "--labels-per-class", type=int, default=30, help="labelled points sampled per class"
    )
    parser.add_argument(
        "--no-compare", action="store_true", help="train from labels without --compare"
    )
    parser.add_argument(
        "--stride",
        type=int,
        default=None,
        help="pixel side of the class map trained from the labels, in tile pixels "
        "(default: the classifier's, about an eighth of a tile)",
    )
    args = parser.parse_args(argv)

    demo, out = args.demo.resolve(), args.out.resolve()
    if not QGIS.is_file() or not shutil.which("xvfb-run"):
        return fail(
            "needs the QGIS desktop and Xvfb: "
            "apt-get install --no-install-recommends qgis xvfb xauth"
        )
    if not args.zip.is_file():
        return fail(f"{args.zip} not found: run `make package` first")
    needed = [
        scene_raster(demo),
        label_raster(demo),
        demo / "classifier.safetensors",
        demo / "pretrain" / "model.safetensors",
        demo / "index" / "embeddings.safetensors",
    ]
    missing = [str(p) for p in needed if not p.exists()]
    if missing:
        return fail(f"missing {', '.join(missing)}: run `make demo` first")

    out.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="sounding-screenshot-") as folder,
        neutral_path(demo) as shown,
    ):
        work = Path(folder)
        classes = class_raster(demo, work)
        labels = label_train_classify(
            demo,
            work,
            per_class=args.labels_per_class,
            compare=not args.no_compare,
            stride=args.stride,
        )
        config = work / "config"
        make_profile(config, args.zip, shown)
        code = work / "startup.py"
        code.write_text(STARTUP_CODE, encoding="utf-8")
        shots = work / "shots"
        shots.mkdir()
        env = dict(os.environ)
        env.update(
            QGIS_CUSTOM_CONFIG_PATH=str(config),
            # QGIS's Python finds the backend's packages (torch, rasterio...) in this venv;
            # a user's QGIS finds them in the plugin's "Install dependencies" folder
            PYTHONPATH=sysconfig.get_paths()["purelib"],
            SOUNDING_EARTH_DEMO_OUTPUT=str(shown),
            SOUNDING_SCREENSHOT_OUT=str(shots),
            SOUNDING_SCREENSHOT_SCENE=str(scene_raster(demo)),
            SOUNDING_SCREENSHOT_CLASSES=str(classes),
            SOUNDING_SCREENSHOT_LABELS=json.dumps(labels),
            XDG_RUNTIME_DIR=str(work),
        )
        env.pop("QT_QPA_PLATFORM", None)  # a real (virtual) display this time
        command = [
            "xvfb-run", "-a", "-s", f"-screen 0 {SCREEN}",
            str(QGIS), "--nologo", "--noversioncheck", "--code", str(code),
        ]  # fmt: skip
        try:
            run = subprocess.run(
                command, env=env, capture_output=True, text=True, timeout=args.timeout
            )
        except subprocess.TimeoutExpired:
            log = shots / "screenshot.log"
            return fail(
                f"QGIS did not finish within {args.timeout} s\n"
                + (log.read_text() if log.is_file() else "")
            )
        log = (shots / "screenshot.log").read_text() if (shots / "screenshot.log").is_file() else ""
        made = [name for name in SHOTS if (shots / name).is_file()]
        if run.returncode != 0 or len(made) != len(SHOTS):
            return fail(
                f"QGIS exited with {run.returncode}; made {made}\n{log}\n"
                f"{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
            )
        for name in SHOTS:
            shutil.copyfile(shots / name, out / name)
            print(out / name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
