"""The dialogs of the toolbar actions: an imagery layer, a model file, an extent and an output."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from qgis.core import QgsMapLayerProxyModel, QgsRasterLayer
from qgis.gui import QgsFileWidget, QgsMapLayerComboBox
from qgis.PyQt.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from sounding_qgis.i18n import tr, translatable
from sounding_qgis.layers import (
    LayerSourceError,
    map_view_extent,
    raster_path,
    temporary_output,
)
from sounding_qgis.model_chooser import MODEL_FILTER, ModelChooser
from sounding_qgis.settings import remember_path, remembered_path

__all__ = ["MODEL_FILTER", "ClassifyDialog", "RasterJob", "RasterJobDialog", "SoundscapeDialog"]
AUDIO_FILTER = translatable(
    "Recordings (*.wav *.flac *.ogg *.mp3 *.WAV *.FLAC *.OGG *.MP3);;All files (*)"
)
GEOTIFF_FILTER = "GeoTIFF (*.tif *.tiff)"


@dataclass
class RasterJob:
    """What a raster dialog asks the backend to do (paths, extent, output)."""

    layer_name: str
    raster: str
    model: str
    #: a ``backend.raster.grid.Extent``, or None for the whole layer
    extent: object | None
    extent_crs: str | None
    output: Path
    temporary: bool
    #: the recording (soundscape dialog only)
    audio: str = ""

    def options(self) -> dict[str, object]:
        """The keyword arguments of the backend's raster operations: extent, CRS, device."""
        return {"extent": self.extent, "extent_crs": self.extent_crs, "device": "auto"}


class RasterJobDialog(QDialog):
    """Imagery layer (the active one by default), model (the user's models, remembered), extent, output.

    Subclasses set ``TITLE``, ``MODEL_KEY`` (the QgsSettings key) and
    ``OUTPUT_STEM``, and may add rows with :meth:`add_row`.
    """

    TITLE = ""
    INTRO = ""
    MODEL_KEY = "classifier_model"
    #: the kinds of model the model chooser lists
    MODEL_KINDS: tuple[str, ...] = ("classifier",)
    MODEL_LABEL = translatable("Model file")
    OUTPUT_STEM = "sounding"

    def __init__(self, iface, parent=None) -> None:
        """Build the form; the layer defaults to the active raster layer."""
        super().__init__(parent or iface.mainWindow())
        self.iface = iface
        self.setWindowTitle(tr(self.TITLE))
        self.setMinimumWidth(520)
        layout = QVBoxLayout(self)
        if self.INTRO:
            intro = QLabel(tr(self.INTRO), self)
            intro.setWordWrap(True)
            layout.addWidget(intro)
        self.form = QFormLayout()
        layout.addLayout(self.form)

        self.layer_combo = QgsMapLayerComboBox(self)
        self.layer_combo.setFilters(QgsMapLayerProxyModel.RasterLayer)
        active = iface.activeLayer()
        if isinstance(active, QgsRasterLayer):
            self.layer_combo.setLayer(active)
        self.form.addRow(tr("Imagery layer"), self.layer_combo)

        self.model_widget = ModelChooser(self.MODEL_KINDS, self)
        self.model_widget.choose_remembered(remembered_path(self.MODEL_KEY))
        self.form.addRow(tr(self.MODEL_LABEL), self.model_widget)

        self.extent_layer, self.extent_canvas = self._choice(
            tr("Whole layer"), tr("Current map view")
        )
        self.form.addRow(tr("Extent"), self._row(self.extent_layer, self.extent_canvas))

        self.output_temporary, self.output_file = self._choice(tr("Temporary file"), tr("Save to"))
        self.output_widget = QgsFileWidget(self)
        self.output_widget.setStorageMode(QgsFileWidget.SaveFile)
        self.output_widget.setFilter(GEOTIFF_FILTER)
        self.output_widget.setEnabled(False)
        self.output_file.toggled.connect(self.output_widget.setEnabled)
        self.form.addRow(
            tr("Output"), self._row(self.output_temporary, self.output_file, self.output_widget)
        )

        self.error_label = QLabel(self)
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #b00020")
        self.error_label.hide()
        layout.addWidget(self.error_label)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.job: RasterJob | None = None

    def _choice(self, first: str, second: str) -> tuple[QRadioButton, QRadioButton]:
        """Two exclusive radio buttons, the first checked."""
        buttons = QRadioButton(first, self), QRadioButton(second, self)
        buttons[0].setChecked(True)
        group = QButtonGroup(self)
        for button in buttons:
            group.addButton(button)
        return buttons

    def _row(self, *widgets: QWidget) -> QWidget:
        row = QWidget(self)
        box = QHBoxLayout(row)
        box.setContentsMargins(0, 0, 0, 0)
        for widget in widgets:
            box.addWidget(widget)
        return row

    def add_row(self, label: str, widget: QWidget) -> None:
        """Add a row to the form (before the dialog is shown)."""
        self.form.addRow(label, widget)

    # --- reading the form ----------------------------------------------------------------
    def build_job(self) -> RasterJob:
        """The job the form describes.

        Raises:
            ValueError: Something is missing or unusable; the message says what.
        """
        layer = self.layer_combo.currentLayer()
        if not isinstance(layer, QgsRasterLayer):
            raise ValueError(tr("Choose an imagery layer (add a raster to the project first)."))
        raster = raster_path(layer)
        model = self.model_widget.filePath().strip()
        if not model or not Path(model).is_file():
            raise ValueError(
                tr("Choose a model file; {path} is not a file.").format(path=model or tr("none"))
            )
        extent = crs = None
        if self.extent_canvas.isChecked():
            extent, crs = map_view_extent(self.iface.mapCanvas())
            if extent is None:
                raise ValueError(tr("The map view is empty; zoom to the layer first."))
        if self.output_file.isChecked():
            text = self.output_widget.filePath().strip()
            if not text:
                raise ValueError(tr("Choose an output file, or a temporary one."))
            output = Path(text)
            if output.suffix.lower() not in (".tif", ".tiff"):
                output = output.with_suffix(".tif")
            temporary = False
        else:
            output = temporary_output(".tif", self.OUTPUT_STEM)
            temporary = True
        return RasterJob(layer.name(), raster, model, extent, crs, output, temporary)

    def accept(self) -> None:
        """Check the form; close only when it describes a job."""
        try:
            self.job = self.build_job()
        except (ValueError, LayerSourceError) as error:
            self.error_label.setText(str(error))
            self.error_label.show()
            return
        remember_path(self.MODEL_KEY, self.job.model)
        super().accept()


class ClassifyDialog(RasterJobDialog):
    """The toolbar's "Classify imagery layer"."""

    TITLE = translatable("Sounding Earth: classify imagery layer")
    INTRO = translatable(
        "Classifies every tile of the imagery with a classifier model file (or every "
        "pixel, with a segmentation model file) and adds the land-cover layer in the "
        "model's class colours. It runs in the background; "
        "follow or cancel it in the task manager."
    )
    MODEL_KEY = "classifier_model"
    MODEL_KINDS = ("classifier", "segmentation")
    MODEL_LABEL = translatable("Classifier model")
    OUTPUT_STEM = "classes"


class SoundscapeDialog(RasterJobDialog):
    """The toolbar's "Soundscape map": a recording and where it belongs on the imagery."""

    TITLE = translatable("Sounding Earth: soundscape map")
    INTRO = translatable(
        "Maps where a recording belongs: every tile of the imagery is compared with the "
        "sound, and the similarity is added as a heat layer (bright where the sound fits)."
    )
    MODEL_KEY = "audiovisual_model"
    MODEL_KINDS = ("audiovisual",)
    MODEL_LABEL = translatable("Audiovisual model")
    OUTPUT_STEM = "soundscape"

    def __init__(self, iface, parent=None, audio: str = "") -> None:
        """``audio`` pre-selects a recording (e.g. the one chosen in the Sounds-here panel)."""
        super().__init__(iface, parent)
        self.audio_widget = QgsFileWidget(self)
        self.audio_widget.setFilter(tr(AUDIO_FILTER))
        self.audio_widget.setFilePath(audio or remembered_path("recording"))
        self.form.insertRow(2, tr("Recording"), self.audio_widget)

    def build_job(self) -> RasterJob:  # noqa: D102
        job = super().build_job()
        audio = self.audio_widget.filePath().strip()
        if not audio or not Path(audio).is_file():
            raise ValueError(
                tr("Choose a recording; {path} is not a file.").format(path=audio or tr("none"))
            )
        job.audio = audio
        return job

    def accept(self) -> None:  # noqa: D102
        super().accept()
        if self.job is not None:
            remember_path("recording", self.job.audio)
