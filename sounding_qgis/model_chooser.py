"""The plugin's model chooser: the user's models (model folder and demo) in a list, plus Browse.

Every place of the plugin that asks for a model file uses :class:`ModelChooser`:
the toolbar's classify and soundscape dialogs and the "Sounds here" panel. The
list comes from ``backend.catalogue.available_models`` (the one home of "which
models does the user have"): the model folder where "Models…" downloads, then the
demo's models; "Browse…" adds any other file.
"""

from __future__ import annotations

from pathlib import Path

from qgis.PyQt.QtCore import Qt, pyqtSignal
from qgis.PyQt.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QToolButton, QWidget

from sounding_qgis.i18n import tr, translatable
from sounding_qgis.settings import DEMO_OUTPUT

MODEL_FILTER = translatable("Sounding Earth model (*.safetensors)")


def user_models(kinds: tuple[str, ...] | str | None = None):
    """``backend.catalogue.available_models`` for the plugin: the model folder and the demo."""
    from backend.catalogue import available_models

    return available_models(kinds, demo_output=DEMO_OUTPUT)


def chooser_metadata(
    kinds: tuple[str, ...] | str | None = None,
    allow_none: str = "",
    file_filter: str = MODEL_FILTER,
) -> dict:
    """Processing parameter metadata that makes a file parameter's widget a :class:`ModelChooser`.

    Only the Processing dialogs read it (``qgis_process`` and scripts pass a path as before).
    """
    return {
        "widget_wrapper": {
            "class": f"{__package__}.model_wrapper.ModelChoiceWrapper",
            "kinds": kinds,
            "allow_none": allow_none,
            "file_filter": file_filter,
        }
    }


class _ListingCombo(QComboBox):
    """A combo box that lists the user's models afresh each time it opens."""

    def __init__(self, chooser: ModelChooser) -> None:
        super().__init__(chooser)
        self._chooser = chooser

    def showPopup(self) -> None:  # noqa: N802 (Qt's name)
        """Refresh (a model downloaded meanwhile appears), then open."""
        self._chooser.refresh()
        super().showPopup()


class ModelChooser(QWidget):
    """A drop-down of the user's models of ``kinds`` and a Browse button.

    It speaks ``QgsFileWidget``'s language (``filePath``, ``setFilePath``,
    ``fileChanged``), so forms use it in its place.
    """

    fileChanged = pyqtSignal(str)  # noqa: N815 (Qt naming)

    def __init__(
        self,
        kinds: tuple[str, ...] | str | None = None,
        parent=None,
        allow_none: str = "",
        file_filter: str = MODEL_FILTER,
    ) -> None:
        """List the models of ``kinds`` (``audiovisual``, ``classifier``; None: all).

        ``allow_none``, when given, is the text of a first entry that chooses no file
        (e.g. "(none: random weights)"); ``file_filter`` is Browse's file filter.
        """
        super().__init__(parent)
        self.kinds = kinds
        self.allow_none = allow_none
        self.file_filter = file_filter
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.combo = _ListingCombo(self)
        self.combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.combo.setMinimumContentsLength(24)
        self.browse_button = QToolButton(self)
        self.browse_button.setText("…")
        self.browse_button.setToolTip(tr("Choose another model file"))
        layout.addWidget(self.combo, 1)
        layout.addWidget(self.browse_button)
        self.browse_button.clicked.connect(self.browse)
        self.combo.currentIndexChanged.connect(lambda _i: self.fileChanged.emit(self.filePath()))
        self.refresh()

    def paths(self) -> list[str]:
        """The files listed, in order."""
        return [self.combo.itemData(i) for i in range(self.combo.count())]

    def refresh(self) -> None:
        """List the user's models again (after a download), keeping the current choice."""
        current = self.filePath()
        self.combo.blockSignals(True)
        try:
            self.combo.clear()
            if self.allow_none:
                self.combo.addItem(self.allow_none, "")
            for model in user_models(self.kinds):
                self.combo.addItem(model.label, str(model.path))
                self.combo.setItemData(
                    self.combo.count() - 1, str(model.path), Qt.ItemDataRole.ToolTipRole
                )
            if current:
                self.setFilePath(current)
        finally:
            self.combo.blockSignals(False)
        if self.filePath() != current:
            self.fileChanged.emit(self.filePath())

    def filePath(self) -> str:  # noqa: N802 (QgsFileWidget's name)
        """The chosen file ('' when none)."""
        data = self.combo.currentData()
        return str(data) if data else ""

    def setFilePath(self, path: str) -> None:  # noqa: N802 (QgsFileWidget's name)
        """Choose ``path``, adding it to the list when it is not one of the user's models."""
        path = str(path or "").strip()
        if not path:
            if self.allow_none:
                self.combo.setCurrentIndex(0)
            return
        wanted = str(Path(path).expanduser())
        for row, listed in enumerate(self.paths()):
            if not listed:
                continue
            if listed == wanted or Path(listed).resolve() == Path(wanted).resolve():
                self.combo.setCurrentIndex(row)
                return
        missing = "" if Path(wanted).is_file() else tr(", missing")
        row = 1 if self.allow_none else 0
        label = f"{Path(wanted).name} ({Path(wanted).parent}{missing})"
        self.combo.insertItem(row, label, wanted)
        self.combo.setItemData(row, wanted, Qt.ItemDataRole.ToolTipRole)
        self.combo.setCurrentIndex(row)

    def choose_remembered(self, path: str) -> None:
        """Choose a remembered file if it still exists (else keep the list's first model)."""
        if path and Path(path).is_file():
            self.setFilePath(path)

    def browse(self) -> None:
        """Pick any model file."""
        start = self.filePath() or str(DEMO_OUTPUT)
        path, _ = QFileDialog.getOpenFileName(self, tr("Model file"), start, tr(self.file_filter))
        if path:
            self.setFilePath(path)
