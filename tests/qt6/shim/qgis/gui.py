"""Stand-ins for the ``qgis.gui`` widgets the plugin's widgets hold (PyQt6 checks only).

- ``QgsFileWidget``: a ``QLineEdit`` with ``filePath``/``setFilePath``/``fileChanged``
  and the storage modes.
- ``QgsMapLayerComboBox``: an empty ``QComboBox`` with ``setFilters``, ``setLayer``,
  ``currentLayer`` (None: the stand-in project has no layers) and ``layerChanged``.
- ``QgsDockWidget``: ``QDockWidget``.
"""

from __future__ import annotations

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QComboBox, QDockWidget, QHBoxLayout, QLineEdit, QWidget


class QgsFileWidget(QWidget):
    """A line edit holding a path."""

    GetFile, GetDirectory, GetMultipleFiles, SaveFile = range(4)
    fileChanged = pyqtSignal(str)  # noqa: N815 (Qt naming)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.edit = QLineEdit(self)
        layout = QHBoxLayout(self)
        layout.addWidget(self.edit)
        self.edit.textChanged.connect(self.fileChanged.emit)
        self.mode = self.GetFile
        self.filter = ""

    def setStorageMode(self, mode) -> None:  # noqa: N802
        """Remember the mode."""
        self.mode = mode

    def setFilter(self, text: str) -> None:  # noqa: N802
        """Remember the filter."""
        self.filter = text

    def filePath(self) -> str:  # noqa: N802
        """The path typed."""
        return self.edit.text()

    def setFilePath(self, path: str) -> None:  # noqa: N802
        """Type ``path``."""
        self.edit.setText(str(path))


class QgsMapLayerComboBox(QComboBox):
    """A layer list with no layers (the stand-in project is empty)."""

    layerChanged = pyqtSignal(object)  # noqa: N815 (Qt naming)

    def setFilters(self, filters) -> None:  # noqa: N802
        """Remember the filters."""
        self.filters = filters

    def setLayer(self, layer) -> None:  # noqa: N802
        """Choose ``layer``."""
        self.layerChanged.emit(layer)

    def currentLayer(self):  # noqa: N802
        """None: no layer."""
        return None


class QgsDockWidget(QDockWidget):
    """QGIS's dock widget is a ``QDockWidget``."""
