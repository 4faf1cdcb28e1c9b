"""The plugin object: toolbar, menu, Processing provider, dependency warning."""

from __future__ import annotations

from pathlib import Path

from qgis.core import Qgis, QgsApplication, QgsMessageLog
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QAction, QMessageBox

from sounding_qgis.dependencies import DependencyStatus, check_dependencies, missing_message

PLUGIN_NAME = "Sounding Earth"
MENU_NAME = "&Sounding Earth"
TOOLBAR_OBJECT_NAME = "SoundingEarthToolbar"
ICON_PATH = Path(__file__).resolve().parent / "icon.png"


class SoundingEarthPlugin:
    """Created by :func:`sounding_qgis.classFactory`; QGIS calls initGui and unload."""

    def __init__(self, iface) -> None:
        self.iface = iface
        self.actions: list[QAction] = []
        self.toolbar = None
        self.provider = None
        self.dependencies = DependencyStatus()

    # --- QGIS plugin interface -------------------------------------------------------
    def initProcessing(self) -> None:  # noqa: N802
        """Register the Processing provider, unless its algorithms could not run."""
        if self.provider is not None or not self.dependencies.ok:
            return
        from sounding_qgis.provider import SoundingProvider

        self.provider = SoundingProvider()
        QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self) -> None:  # noqa: N802
        """Add the toolbar and menu, check dependencies, register the provider."""
        self.dependencies = check_dependencies()
        self.toolbar = self.iface.addToolBar(PLUGIN_NAME)
        self.toolbar.setObjectName(TOOLBAR_OBJECT_NAME)
        self._add_action("About Sounding Earth…", self.show_about)
        if not self.dependencies.ok:
            message = missing_message(self.dependencies)
            QgsMessageLog.logMessage(
                message
                + "\n"
                + "\n".join(f"{k}: {v}" for k, v in self.dependencies.errors.items()),
                PLUGIN_NAME,
                Qgis.Warning,
            )
            self.iface.messageBar().pushMessage(
                PLUGIN_NAME, message, level=Qgis.Warning, duration=0
            )
        self.initProcessing()

    def unload(self) -> None:
        """Remove every action, the toolbar and the provider."""
        for action in self.actions:
            self.iface.removePluginMenu(MENU_NAME, action)
            if self.toolbar is not None:
                self.toolbar.removeAction(action)
            action.deleteLater()
        self.actions = []
        if self.toolbar is not None:
            self.toolbar.deleteLater()
            self.toolbar = None
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None

    # --- actions ---------------------------------------------------------------------
    def _add_action(self, text: str, callback, toolbar: bool = True, icon: Path | None = None):
        action = QAction(QIcon(str(icon or ICON_PATH)), text, self.iface.mainWindow())
        action.triggered.connect(callback)
        self.iface.addPluginToMenu(MENU_NAME, action)
        if toolbar and self.toolbar is not None:
            self.toolbar.addAction(action)
        self.actions.append(action)
        return action

    def show_about(self) -> None:
        from backend import __version__

        status = (
            "All backend packages import."
            if self.dependencies.ok
            else missing_message(self.dependencies)
        )
        QMessageBox.information(
            self.iface.mainWindow(),
            PLUGIN_NAME,
            f"Sounding Earth {__version__}\n\nSelf-supervised audiovisual representation "
            f"learning for remote sensing (Heidler et al., arXiv 2108.00688).\n\n{status}",
        )
