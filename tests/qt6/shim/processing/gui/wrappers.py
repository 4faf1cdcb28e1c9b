"""Stand-in ``processing.gui.wrappers.WidgetWrapper``: builds the widget and signals changes.

QGIS's own wrapper also takes the parameter, the dialog and its row and column; the
plugin's wrapper uses none of them.
"""

from __future__ import annotations

from PyQt6.QtCore import QObject, pyqtSignal


class WidgetWrapper(QObject):
    """Calls ``createWidget(**metadata)`` and keeps the widget in ``widget``."""

    widgetValueHasChanged = pyqtSignal(object)  # noqa: N815 (Qt naming)

    def __init__(self, **metadata) -> None:
        super().__init__()
        self.widget = self.createWidget(**metadata)

    def createWidget(self, **_metadata):  # noqa: N802
        """The widget (subclasses build it)."""
        raise NotImplementedError
