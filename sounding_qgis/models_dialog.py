"""The "Models…" dialog: the model catalogue, and verified downloads in the background.

The catalogue and the download live in ``backend.catalogue``; this dialog only
shows the entries, starts ``get_model`` as a task (progress and cancel through
QGIS's task manager) and, once a model is in the model folder, makes it the
file every model chooser of the plugin offers next.
"""

from __future__ import annotations

from qgis.PyQt.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from sounding_qgis.i18n import tr, translatable
from sounding_qgis.settings import remember_path
from sounding_qgis.tasks import BackendTask, start_task

COLUMNS = [
    translatable("Name"),
    translatable("Task"),
    translatable("Architecture"),
    translatable("State"),
    translatable("SHA-256"),
]
#: model-chooser setting of each task
SETTING_KEYS = {"audiovisual": "audiovisual_model", "classifier": "classifier_model"}


class ModelsDialog(QDialog):
    """Lists catalogue models; downloads the selected one (never without the user asking)."""

    def __init__(self, iface, parent=None, folder: str | None = None) -> None:
        """Build the dialog over the model folder ``folder`` (default: the user's)."""
        super().__init__(parent or iface.mainWindow())
        from backend.catalogue import models_folder

        self.iface = iface
        self.folder = models_folder(folder)
        self.task: BackendTask | None = None
        self.entries: list = []
        self.setWindowTitle(tr("Sounding Earth models"))
        self.setMinimumWidth(720)
        layout = QVBoxLayout(self)
        intro = QLabel(
            tr(
                "Models of the catalogue that ships with the plugin and the ones you added. "
                "Download verifies the SHA-256 and imports the paper's checkpoints; the model "
                "is then offered by every model chooser. Model folder: {folder}"
            ).format(folder=self.folder),
            self,
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels([tr(column) for column in COLUMNS])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        layout.addWidget(self.table)
        self.note_label = QLabel(self)
        self.note_label.setWordWrap(True)
        layout.addWidget(self.note_label)
        row = QHBoxLayout()
        self.url_edit = QLineEdit(self)
        self.url_edit.setPlaceholderText(tr("file address, for a model the catalogue has none for"))
        row.addWidget(self.url_edit)
        self.download_button = QPushButton(tr("Download"), self)
        self.download_button.clicked.connect(self.download_selected)
        row.addWidget(self.download_button)
        self.cancel_button = QPushButton(tr("Cancel download"), self)
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_download)
        row.addWidget(self.cancel_button)
        layout.addLayout(row)
        self.status_label = QLabel(self)
        self.status_label.setWordWrap(True)
        layout.addWidget(self.status_label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.reload()

    def reload(self) -> None:
        """Read the catalogue again and fill the table."""
        from backend.catalogue import load_catalogue

        try:
            self.entries = list(load_catalogue(self.folder).values())
        except ValueError as error:
            self.entries = []
            self.status_label.setText(str(error))
        self.table.setRowCount(len(self.entries))
        for row, entry in enumerate(self.entries):
            present = (self.folder / f"{entry.name}.safetensors").is_file()
            state = (
                tr("downloaded")
                if present
                else (tr("available") if entry.url else tr("no address"))
            )
            values = [
                entry.name,
                entry.task,
                entry.architecture,
                state,
                entry.checksum or tr("not published"),
            ]
            for column, value in enumerate(values):
                self.table.setItem(row, column, QTableWidgetItem(value))
        self.table.resizeColumnsToContents()
        self._selection_changed()

    def selected_entry(self):
        """The selected catalogue entry, or None."""
        rows = self.table.selectionModel().selectedRows()
        return self.entries[rows[0].row()] if rows else None

    def _selection_changed(self) -> None:
        entry = self.selected_entry()
        busy = self.task is not None
        self.download_button.setEnabled(entry is not None and not busy)
        if entry is None:
            self.note_label.setText("")
            return
        licence = entry.licence and tr("Licence: {licence}").format(licence=entry.licence)
        lines = [entry.paper, licence, entry.note]
        if entry.page:
            lines.append(tr("Release page: {page}").format(page=entry.page))
        self.note_label.setText("\n".join(line for line in lines if line))

    def download_selected(self) -> BackendTask | None:
        """Start downloading the selected model in the background; returns the task."""
        from backend.catalogue import get_model

        entry = self.selected_entry()
        if entry is None or self.task is not None:
            return None
        url = self.url_edit.text().strip() or None
        if not entry.url and url is None:
            where = (
                tr("Copy it from {page} into the address field.").format(page=entry.page)
                if entry.page
                else ""
            )
            self.status_label.setText(
                tr("{name}: the catalogue has no file address for this model. ").format(
                    name=entry.name
                )
                + where
            )
            return None
        name, folder = entry.name, self.folder

        def work(progress):
            return get_model(name, folder, url=url, progress=progress)

        self.task = BackendTask(
            f"Sounding Earth: download {name}",
            work,
            on_success=lambda task: self._finished(task, entry),
            on_failure=lambda task: self._failed(task, name),
            on_cancel=lambda task: self._cancelled(name),
        )
        self.task.progressChanged.connect(
            lambda value: self.status_label.setText(
                tr("Downloading {name}: {percent} %").format(name=name, percent=f"{value:.0f}")
            )
        )
        self.status_label.setText(tr("Downloading {name}…").format(name=name))
        self.cancel_button.setEnabled(True)
        self.download_button.setEnabled(False)
        return start_task(self.task)

    def cancel_download(self) -> None:
        """Stop the running download (the part downloaded so far is kept for resuming)."""
        if self.task is not None:
            self.task.cancel()

    def _done(self) -> None:
        self.task = None
        self.cancel_button.setEnabled(False)
        self.reload()

    def _finished(self, task: BackendTask, entry) -> None:
        result = task.result
        key = SETTING_KEYS.get(entry.task)
        if key is not None:
            remember_path(key, result.path)
        if result.already_present:
            text = tr("{name} was already downloaded and verified: {path}")
        elif result.recorded:
            text = tr(
                "{name} downloaded to {path}. No checksum is published for it: "
                "compare its SHA-256 {sha256} with the release page; it is recorded, "
                "and later downloads must match it."
            )
        else:
            text = tr("{name} downloaded to {path}; SHA-256 verified ({sha256}).")
        text = text.format(name=entry.name, path=result.path, sha256=result.sha256)
        self._done()
        self.status_label.setText(text)

    def _failed(self, task: BackendTask, name: str) -> None:
        self._done()
        self.status_label.setText(tr("{name}: {error}").format(name=name, error=task.error))

    def _cancelled(self, name: str) -> None:
        self._done()
        self.status_label.setText(
            tr("{name}: download cancelled; the next download resumes where it stopped.").format(
                name=name
            )
        )
