"""The "Sounds here" panel: the recordings that sound most like the imagery in the map view.

It follows the canvas: each pan or zoom restarts a short timer, and when the
map rests the query (``backend.extent_query.query_extent``) runs as a background task.
An answer to an older view is dropped. Recordings can be played, stopped, put
on the map, or turned into a soundscape map.
"""

from __future__ import annotations

import threading
from pathlib import Path

from qgis.core import (
    QgsFeatureRequest,
    QgsMapLayerProxyModel,
    QgsProject,
    QgsRasterLayer,
    QgsVectorLayer,
)
from qgis.gui import QgsDockWidget, QgsFileWidget, QgsMapLayerComboBox
from qgis.PyQt.QtCore import Qt, QTimer, pyqtSignal
from qgis.PyQt.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from sounding_qgis.i18n import tr, translatable
from sounding_qgis.layers import (
    LayerSourceError,
    map_view_extent,
    raster_path,
    recording_feature,
    recording_fields,
)
from sounding_qgis.model_chooser import ModelChooser
from sounding_qgis.player import SoundPlayer
from sounding_qgis.settings import remember_path, remembered_path
from sounding_qgis.tasks import BackendTask, log, start_task

#: how long the map must rest before a query starts
DEBOUNCE_MS = 700
#: name of the point layer "Show on map" fills
RECORDINGS_LAYER_NAME = translatable("Sounds here")
COLUMNS = (
    translatable("Title"),
    translatable("Creator"),
    translatable("Similarity"),
    translatable("Distance (km)"),
)
#: the score column's heading by the index's ranking distance (backend.ranking)
SCORE_HEADINGS = {"cosine": translatable("Similarity"), "euclidean": translatable("−Distance")}
SCORE_TIPS = {
    "cosine": translatable(
        "cosine similarity of the view's and the recording's embeddings (1 is closest)"
    ),
    "euclidean": translatable("minus the Euclidean distance between the embeddings (0 is closest)"),
}

_index_lock = threading.Lock()
_index_cache: dict[str, tuple[float, object]] = {}


def load_index(folder: str):
    """A ``backend.index.SoundIndex`` for ``folder``, loaded once while its files do not change."""
    from backend.index import EMBEDDINGS_FILE, SoundIndex

    embeddings = Path(folder) / EMBEDDINGS_FILE
    stamp = embeddings.stat().st_mtime if embeddings.is_file() else -1.0
    with _index_lock:
        cached = _index_cache.get(folder)
        if cached is not None and cached[0] == stamp:
            return cached[1]
    index = SoundIndex.load(folder)
    with _index_lock:
        _index_cache[folder] = (stamp, index)
    return index


class SoundsHereDock(QgsDockWidget):
    """Lists the closest recordings for the current map extent over an imagery layer."""

    OBJECT_NAME = "SoundingEarthSoundsHere"
    #: the user asked for the soundscape map of a recording (its file)
    soundscapeRequested = pyqtSignal(str)  # noqa: N815 (Qt naming)

    def __init__(self, iface, parent=None, player: SoundPlayer | None = None) -> None:
        """Build the panel; it queries only while visible and "Follow the map" is ticked."""
        super().__init__(tr("Sounds here"), parent or iface.mainWindow())
        self.setObjectName(self.OBJECT_NAME)
        self.iface = iface
        self.canvas = iface.mapCanvas()
        self.player = player or SoundPlayer(self)
        self.matches: list = []
        self.task: BackendTask | None = None
        self.generation = 0
        self.queries_started = 0
        self._recordings_layer_id: str | None = None

        body = QWidget(self)
        layout = QVBoxLayout(body)
        form = QFormLayout()
        layout.addLayout(form)
        self.layer_combo = QgsMapLayerComboBox(body)
        self.layer_combo.setFilters(QgsMapLayerProxyModel.RasterLayer)
        form.addRow(tr("Imagery"), self.layer_combo)
        self.index_widget = QgsFileWidget(body)
        self.index_widget.setStorageMode(QgsFileWidget.GetDirectory)
        self.index_widget.setFilePath(remembered_path("sound_index"))
        form.addRow(tr("Sound index"), self.index_widget)
        self.model_widget = ModelChooser("audiovisual", body)
        self.model_widget.choose_remembered(remembered_path("audiovisual_model"))
        form.addRow(tr("Model"), self.model_widget)
        self.top_spin = QSpinBox(body)
        self.top_spin.setRange(1, 100)
        self.top_spin.setValue(10)
        self.follow_check = QCheckBox(tr("Follow the map"), body)
        self.follow_check.setChecked(True)
        self.refresh_button = QPushButton(tr("Refresh"), body)
        self.refresh_button.clicked.connect(self.refresh)
        row = QHBoxLayout()
        row.addWidget(QLabel(tr("Recordings"), body))
        row.addWidget(self.top_spin)
        row.addWidget(self.follow_check)
        row.addWidget(self.refresh_button)
        layout.addLayout(row)

        self.status_label = QLabel(tr("Move the map over an imagery layer."), body)
        self.status_label.setWordWrap(True)
        layout.addWidget(self.status_label)
        self.table = QTableWidget(0, len(COLUMNS), body)
        self.table.setHorizontalHeaderLabels([tr(column) for column in COLUMNS])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setVisible(False)
        self.table.itemDoubleClicked.connect(lambda _item: self.play_selected())
        layout.addWidget(self.table)

        buttons = QHBoxLayout()
        self.play_button = QPushButton(tr("Play"), body)
        self.stop_button = QPushButton(tr("Stop"), body)
        self.show_button = QPushButton(tr("Show on map"), body)
        self.soundscape_button = QPushButton(tr("Soundscape map…"), body)
        for button in (
            self.play_button,
            self.stop_button,
            self.show_button,
            self.soundscape_button,
        ):
            buttons.addWidget(button)
        layout.addLayout(buttons)
        self.play_button.clicked.connect(self.play_selected)
        self.stop_button.clicked.connect(self.player.stop)
        self.show_button.clicked.connect(lambda: self.show_on_map(self.selected_row()))
        self.soundscape_button.clicked.connect(self._request_soundscape)
        self.player.playingChanged.connect(self._playing_changed)
        self.setWidget(body)

        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(DEBOUNCE_MS)
        self.timer.timeout.connect(self.refresh)
        self.canvas.extentsChanged.connect(self.schedule)
        self.layer_combo.layerChanged.connect(self.schedule)
        self.index_widget.fileChanged.connect(self.schedule)
        self.model_widget.fileChanged.connect(self.schedule)
        self.visibilityChanged.connect(lambda visible: visible and self.schedule())
        self._update_buttons()

    # --- querying ------------------------------------------------------------------------
    def schedule(self, *_args) -> None:
        """(Re)start the debounce timer; the query runs when the map has rested."""
        if self.follow_check.isChecked() and self.isVisible():
            self.timer.start()

    def query_arguments(self) -> dict:
        """The backend arguments for the current view.

        Raises:
            ValueError: Something is missing (message for the status line).
        """
        layer = self.layer_combo.currentLayer()
        if not isinstance(layer, QgsRasterLayer):
            raise ValueError(tr("Choose an imagery layer."))
        index = self.index_widget.filePath().strip()
        if not index or not Path(index).is_dir():
            raise ValueError(tr("Choose a sound index folder (built by 'Build sound index')."))
        model = self.model_widget.filePath().strip()
        if not model or not Path(model).is_file():
            raise ValueError(tr("Choose the audiovisual model the index was built with."))
        extent, extent_crs = map_view_extent(self.canvas)
        if extent is None:
            raise ValueError(tr("The map view is empty."))
        return {
            "index": index,
            "model": model,
            "raster": raster_path(layer),
            "extent": extent,
            "extent_crs": extent_crs,
            "top": self.top_spin.value(),
        }

    def refresh(self) -> BackendTask | None:
        """Start a query for the current view (cancelling an older one); return its task."""
        self.timer.stop()
        try:
            arguments = self.query_arguments()
        except (ValueError, LayerSourceError) as error:
            self.status_label.setText(str(error))
            return None
        remember_path("sound_index", arguments["index"])
        remember_path("audiovisual_model", arguments["model"])
        self._cancel_query()
        self.generation += 1
        self.queries_started += 1
        generation = self.generation

        def work(progress):
            from backend.extent_query import query_extent

            return query_extent(
                load_index(arguments["index"]),
                arguments["model"],
                arguments["raster"],
                arguments["extent"],
                arguments["extent_crs"],
                top=arguments["top"],
                device="auto",
                progress=progress,
            )

        task = BackendTask(
            "Sounding Earth: sounds here",
            work,
            on_success=lambda t: self._show_result(t, generation),
            on_failure=lambda t: self._show_error(t, generation),
            on_cancel=lambda t: None,
        )
        self.task = task
        self.status_label.setText(tr("Listening…"))
        return start_task(task)

    def _cancel_query(self) -> None:
        task, self.task = self.task, None
        if task is not None:
            try:
                task.cancel()
            except RuntimeError:  # already finished and deleted by the task manager
                pass

    def _show_result(self, task: BackendTask, generation: int) -> None:
        if generation != self.generation:
            return  # an answer to an older view
        self.task = None
        result = task.result
        self.set_matches(result.matches, getattr(result, "distance", "cosine"))
        where = ""
        if result.centre_lonlat is not None:
            lon, lat = result.centre_lonlat
            where = tr(" around {lat}, {lon}").format(lat=f"{lat:.4f}", lon=f"{lon:.4f}")
        self.status_label.setText(
            tr(
                "{count} recordings closest to the view{where} ({tiles} tiles, {seconds} s)."
            ).format(
                count=len(result.matches),
                where=where,
                tiles=result.tiles,
                seconds=f"{task.seconds:.1f}",
            )
        )

    def _show_error(self, task: BackendTask, generation: int) -> None:
        if generation != self.generation:
            return
        self.task = None
        self.set_matches([])
        self.status_label.setText(task.error or tr("The query failed."))
        log(f"sounds here: {task.error}")

    # --- the list -------------------------------------------------------------------------
    def set_matches(self, matches: list, distance: str = "cosine") -> None:
        """Show ``matches`` (``backend.index.SoundMatch``) in the table.

        ``distance`` is the index's ranking distance; it names the score column.
        """
        self.matches = list(matches)
        heading = QTableWidgetItem(tr(SCORE_HEADINGS.get(distance, translatable("Score"))))
        heading.setToolTip(tr(SCORE_TIPS.get(distance, "")))
        self.table.setHorizontalHeaderItem(2, heading)
        self.table.setRowCount(len(self.matches))
        for row, match in enumerate(self.matches):
            distance = "" if match.distance_km is None else f"{match.distance_km:.2f}"
            values = (
                match.title or tr("(untitled)"),
                match.creator,
                f"{match.similarity:+.3f}",
                distance,
            )
            for column, text in enumerate(values):
                item = QTableWidgetItem(text)
                if column >= 2:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                item.setToolTip(f"{match.title}\n{match.file}\n{match.licence}")
                self.table.setItem(row, column, item)
        if self.matches:
            self.table.selectRow(0)
        self._update_buttons()

    def selected_row(self) -> int:
        """The selected row (-1 when none)."""
        rows = self.table.selectionModel().selectedRows()
        return rows[0].row() if rows else -1

    def selected_match(self):
        """The selected recording, or None."""
        row = self.selected_row()
        return self.matches[row] if 0 <= row < len(self.matches) else None

    def _update_buttons(self) -> None:
        has = bool(self.matches)
        for button in (self.play_button, self.show_button, self.soundscape_button):
            button.setEnabled(has)
        self.stop_button.setEnabled(self.player.is_playing())

    def _playing_changed(self, playing: bool) -> None:
        self.stop_button.setEnabled(playing)

    # --- actions on a recording ------------------------------------------------------------
    def play_selected(self) -> None:
        """Play the selected recording."""
        match = self.selected_match()
        if match is None:
            return
        try:
            how = self.player.play(match.file)
        except (OSError, ValueError) as error:
            self.status_label.setText(
                tr("Cannot play {file}: {error}").format(file=match.file, error=error)
            )
            return
        self.status_label.setText(
            tr("Playing {title} ({how}).").format(
                title=match.title or Path(match.file).name, how=how
            )
        )
        self._update_buttons()

    def recordings_layer(self, create: bool = True) -> QgsVectorLayer | None:
        """The "Sounds here" point layer of the project (created on first use)."""
        project = QgsProject.instance()
        layer = project.mapLayer(self._recordings_layer_id) if self._recordings_layer_id else None
        if layer is None and create:
            layer = QgsVectorLayer("Point?crs=EPSG:4326", tr(RECORDINGS_LAYER_NAME), "memory")
            layer.dataProvider().addAttributes(recording_fields().toList())
            layer.updateFields()
            project.addMapLayer(layer)
            self._recordings_layer_id = layer.id()
        return layer

    def show_on_map(self, row: int) -> QgsVectorLayer | None:
        """Add the recording of ``row`` to the "Sounds here" layer (once) and select it."""
        if not 0 <= row < len(self.matches):
            return None
        match = self.matches[row]
        layer = self.recordings_layer()
        request = QgsFeatureRequest().setFilterExpression(f'"key" = {int(match.key)}')
        existing = [f.id() for f in layer.getFeatures(request)]
        if not existing:
            layer.dataProvider().addFeatures([recording_feature(match, layer.fields())])
            layer.updateExtents()
            existing = [f.id() for f in layer.getFeatures(request)]
        layer.selectByIds(existing)
        layer.triggerRepaint()
        try:
            self.canvas.flashFeatureIds(layer, existing)
        except Exception:  # noqa: BLE001 (a cosmetic flash only)
            pass
        return layer

    def _request_soundscape(self) -> None:
        match = self.selected_match()
        if match is not None:
            self.soundscapeRequested.emit(match.file)

    # --- tear-down --------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop the timer, the player and a running query; let go of the canvas."""
        self.timer.stop()
        self.player.stop()
        self._cancel_query()
        try:
            self.canvas.extentsChanged.disconnect(self.schedule)
        except TypeError:
            pass
