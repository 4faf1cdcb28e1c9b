"""The toolbar's "Train classifier from labels…": the Processing dialog, filled in and remembered.

The action opens ``sounding:trainfromlabels``'s own Processing dialog with the
active imagery layer and the selected labelled layer (its selected features only,
when some are selected) filled in, and the other settings as the user left them
last time (QgsSettings). The dialog runs the algorithm as a QgsTask (progress bar,
working Cancel; a cancelled run leaves no file). When it has finished, the class
layer (if asked for) is loaded in its classes' colours, and the message bar offers
the accuracy report.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from qgis.core import (
    Qgis,
    QgsMapLayer,
    QgsProcessingFeatureSourceDefinition,
    QgsProject,
    QgsRasterLayer,
    QgsVectorLayer,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QUrl
from qgis.PyQt.QtGui import QDesktopServices
from qgis.PyQt.QtWidgets import QPushButton

from sounding_qgis.i18n import tr
from sounding_qgis.settings import remember_value, remembered_value

ALGORITHM_ID = "sounding:trainfromlabels"
PLUGIN_NAME = "Sounding Earth"
#: QgsSettings key (under the plugin's group) of the remembered parameters, as JSON
SETTINGS_KEY = "train_from_labels/parameters"

#: dialogs kept alive while open (QGIS holds only the C++ side)
_OPEN: list = []


def _labels_layer(layer) -> bool:
    return (
        isinstance(layer, QgsVectorLayer)
        and layer.isValid()
        and layer.geometryType() in (QgsWkbTypes.PointGeometry, QgsWkbTypes.PolygonGeometry)
    )


def _raster_layer(layer) -> bool:
    return isinstance(layer, QgsRasterLayer) and layer.isValid()


def chosen_layers(iface, project: QgsProject | None = None):
    """The imagery and labelled layers to offer: selected or active first, then any in the project.

    Returns ``(raster layer or None, vector layer or None)``.
    """
    project = project or QgsProject.instance()
    candidates: list[QgsMapLayer] = []
    view = iface.layerTreeView() if hasattr(iface, "layerTreeView") else None
    if view is not None:
        candidates += list(view.selectedLayers())
    active = iface.activeLayer()
    if active is not None:
        candidates.insert(0, active)
    every = list(project.mapLayers().values())
    raster = next((layer for layer in candidates + every if _raster_layer(layer)), None)
    labels = next((layer for layer in candidates + every if _labels_layer(layer)), None)
    return raster, labels


def remembered_parameters() -> dict[str, Any]:
    """The settings of the last run (the user's choices, not the layers)."""
    text = remembered_value(SETTINGS_KEY, "")
    try:
        values = json.loads(text) if text else {}
    except ValueError:
        return {}
    return values if isinstance(values, dict) else {}


def remember_parameters(parameters: dict[str, Any]) -> None:
    """Keep the user's choices (see ``REMEMBERED``) for the next time the dialog opens."""
    from sounding_qgis.algorithms.labels import REMEMBERED

    kept = {}
    for key in REMEMBERED:
        value = parameters.get(key)
        if isinstance(value, (str, int, float, bool)):
            kept[key] = value
    output = parameters.get("OUTPUT")
    if isinstance(output, str) and output and not output.startswith("TEMPORARY"):
        kept["OUTPUT_FOLDER"] = str(Path(output).parent)
    remember_value(SETTINGS_KEY, json.dumps(kept))


def initial_parameters(iface, project: QgsProject | None = None) -> dict[str, Any]:
    """What the dialog opens with: remembered settings plus the chosen layers.

    The model file is offered in the folder of the last run, else beside the imagery.
    """
    parameters = remembered_parameters()
    folder = parameters.pop("OUTPUT_FOLDER", None)
    raster, labels = chosen_layers(iface, project)
    if raster is not None:
        parameters["INPUT"] = raster
    if labels is not None:
        if labels.selectedFeatureCount() > 0:
            parameters["LABELS"] = QgsProcessingFeatureSourceDefinition(labels.id(), True)
        else:
            parameters["LABELS"] = labels
        fields = labels.fields().names()
        if parameters.get("FIELD") not in fields:
            parameters.pop("FIELD", None)
    if raster is not None:
        if not folder:
            # beside the imagery, rather than a temporary file that would be lost
            source = Path(raster.source().split("|")[0])
            folder = str(source.parent) if source.is_file() else None
        if folder:
            parameters["OUTPUT"] = str(Path(folder) / f"{raster.name()} classifier.safetensors")
    return parameters


def report_button(iface, report: str, summary: str):
    """Push "<summary>  [Open accuracy report]" to the message bar; returns the button."""
    bar = iface.messageBar()
    item = bar.createMessage(PLUGIN_NAME, summary)
    button = QPushButton(tr("Open accuracy report"), item)
    button.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(report)))
    item.layout().addWidget(button)
    bar.pushWidget(item, Qgis.Success, 0)
    return button


def on_finished(iface, dialog, successful: bool, results: dict[str, Any]) -> None:
    """After a run: remember the settings and offer the report."""
    try:
        remember_parameters(dialog.createProcessingParameters())
    except Exception:  # noqa: BLE001 (an unfinished dialog must not lose the results)
        pass
    if not successful or not results.get("REPORT"):
        return
    accuracy = results.get("ACCURACY")
    baseline = results.get("BASELINE")
    summary = tr("Trained {model}").format(model=Path(results["OUTPUT"]).name)
    if isinstance(accuracy, float) and accuracy == accuracy:
        summary += tr(": overall accuracy {percent} % on spatial folds").format(
            percent=f"{100 * accuracy:.1f}"
        )
        if isinstance(baseline, float) and baseline == baseline:
            summary += tr(" (majority class {percent} %)").format(percent=f"{100 * baseline:.1f}")
    report_button(iface, str(results["REPORT"]), summary + ".")


def open_train_dialog(iface, project: QgsProject | None = None):
    """Open the algorithm's dialog filled in (non-modal); returns the dialog."""
    from processing.gui.AlgorithmDialog import AlgorithmDialog
    from qgis.core import QgsApplication

    algorithm = QgsApplication.processingRegistry().createAlgorithmById(ALGORITHM_ID)
    if algorithm is None:
        iface.messageBar().pushMessage(
            PLUGIN_NAME,
            tr("The Sounding Earth Processing algorithms are not available (see the log)."),
            level=Qgis.Warning,
            duration=10,
        )
        return None
    dialog = AlgorithmDialog(algorithm, parent=iface.mainWindow())
    dialog.setParameters(initial_parameters(iface, project))
    dialog.algorithmFinished.connect(
        lambda ok, results: on_finished(iface, dialog, ok, results or {})
    )

    def closed() -> None:
        try:
            remember_parameters(dialog.createProcessingParameters())
        except Exception:  # noqa: BLE001 (missing parameters: nothing to remember)
            pass
        if dialog in _OPEN:
            _OPEN.remove(dialog)

    # (the dialog's "finished" is a method of the Processing dialog, not QDialog's signal)
    dialog.rejected.connect(closed)
    _OPEN.append(dialog)
    dialog.show()
    return dialog
