"""The plugin object: toolbar, menu, "Sounds here" panel, Processing provider, dependency help."""

from __future__ import annotations

from pathlib import Path

from qgis.core import Qgis, QgsApplication, QgsMessageLog
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QAction, QMessageBox

from sounding_qgis.dependencies import DependencyStatus, check_dependencies, missing_message
from sounding_qgis.i18n import remove_translator, tr, translatable

PLUGIN_NAME = "Sounding Earth"
MENU_NAME = "&Sounding Earth"
TOOLBAR_OBJECT_NAME = "SoundingEarthToolbar"
ICON_PATH = Path(__file__).resolve().parent / "icon.png"
ICONS = Path(__file__).resolve().parent / "icons"

# the actions' texts (English: their object names are made from these; shown translated)
CLASSIFY_TEXT = translatable("Classify imagery layer…")
TRAIN_LABELS_TEXT = translatable("Train classifier from labels…")
SOUNDS_HERE_TEXT = translatable("Sounds here")
SOUNDSCAPE_TEXT = translatable("Soundscape map…")
INSTALL_TEXT = translatable("Install dependencies…")
REMOVE_TEXT = translatable("Remove installed packages…")
MODELS_TEXT = translatable("Models…")
ABOUT_TEXT = translatable("About Sounding Earth…")


class SoundingEarthPlugin:
    """Created by :func:`sounding_qgis.classFactory`; QGIS calls initGui and unload."""

    def __init__(self, iface) -> None:
        self.iface = iface
        self.actions: list[QAction] = []
        self.toolbar = None
        self.provider = None
        self.dock = None
        self.installer = None
        self.models_dialog = None
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
        """Add the toolbar, menu and panel; check dependencies; register the provider."""
        self.dependencies = check_dependencies()
        self.toolbar = self.iface.addToolBar(PLUGIN_NAME)
        self.toolbar.setObjectName(TOOLBAR_OBJECT_NAME)
        if self.dependencies.ok:
            self._add_action(
                TRAIN_LABELS_TEXT, self.train_from_labels, icon=ICONS / "train_labels.svg"
            )
            self._add_action(CLASSIFY_TEXT, self.classify_layer, icon=ICONS / "classify.svg")
            self.sounds_action = self._add_action(
                SOUNDS_HERE_TEXT, self.toggle_dock, icon=ICONS / "sounds_here.svg"
            )
            self.sounds_action.setCheckable(True)
            self._add_action(
                SOUNDSCAPE_TEXT, lambda: self.soundscape_map(), icon=ICONS / "soundscape.svg"
            )
            self._create_dock()
        else:
            self._add_action(INSTALL_TEXT, self.install_dependencies, icon=ICONS / "install.svg")
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
        self._add_action(REMOVE_TEXT, self.remove_installed_packages, toolbar=False)
        if self.dependencies.ok:
            self._add_action(MODELS_TEXT, self.show_models, toolbar=False)
        self._add_action(ABOUT_TEXT, self.show_about, toolbar=False)
        self.initProcessing()

    def unload(self) -> None:
        """Remove every action, the toolbar, the panel and the provider; cancel running tasks."""
        from sounding_qgis.tasks import cancel_all

        cancel_all()
        if self.models_dialog is not None:
            self.models_dialog.close()
            self.models_dialog.deleteLater()
            self.models_dialog = None
        if self.dock is not None:
            self.dock.shutdown()
            self.iface.removeDockWidget(self.dock)
            self.dock.setParent(None)
            self.dock.deleteLater()
            self.dock = None
        for action in self.actions:
            self.iface.removePluginMenu(MENU_NAME, action)
            if self.toolbar is not None:
                self.toolbar.removeAction(action)
            action.deleteLater()
        self.actions = []
        if self.toolbar is not None:
            self.toolbar.setParent(None)
            self.toolbar.deleteLater()
            self.toolbar = None
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
        remove_translator()

    # --- actions ---------------------------------------------------------------------
    def _add_action(self, text: str, callback, toolbar: bool = True, icon: Path | None = None):
        icon = icon if icon is not None and icon.is_file() else ICON_PATH
        action = QAction(QIcon(str(icon)), tr(text), self.iface.mainWindow())
        action.setObjectName("SoundingEarth" + "".join(w.capitalize() for w in text.split()))
        action.triggered.connect(callback)
        self.iface.addPluginToMenu(MENU_NAME, action)
        if toolbar and self.toolbar is not None:
            self.toolbar.addAction(action)
        self.actions.append(action)
        return action

    def _create_dock(self) -> None:
        from sounding_qgis.sounds_dock import SoundsHereDock

        self.dock = SoundsHereDock(self.iface, self.iface.mainWindow())
        self.dock.hide()
        self.iface.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self.dock.visibilityChanged.connect(self.sounds_action.setChecked)
        self.dock.soundscapeRequested.connect(self.soundscape_map)

    def show_models(self):
        """The model catalogue: list, download and verify models (never without asking)."""
        from sounding_qgis.models_dialog import ModelsDialog

        if self.models_dialog is None:
            self.models_dialog = ModelsDialog(self.iface)
        self.models_dialog.reload()
        self.models_dialog.show()
        self.models_dialog.raise_()
        return self.models_dialog

    def toggle_dock(self, checked: bool | None = None) -> None:
        """Show or hide the "Sounds here" panel."""
        if self.dock is None:
            return
        visible = not self.dock.isVisible() if checked is None else bool(checked)
        self.dock.setVisible(visible)
        if visible:
            self.dock.raise_()
            self.dock.schedule()

    def classify_layer(self):
        """Ask for a layer, model, extent and output; classify in the background."""
        from sounding_qgis.dialogs import ClassifyDialog
        from sounding_qgis.raster_actions import classify_task
        from sounding_qgis.tasks import start_task

        dialog = ClassifyDialog(self.iface)
        if dialog.exec() and dialog.job is not None:
            return start_task(classify_task(self.iface, dialog.job))
        return None

    def train_from_labels(self):
        """Open "Train classifier from labelled features" with the current layers filled in."""
        from sounding_qgis.labels_action import open_train_dialog

        return open_train_dialog(self.iface)

    def soundscape_map(self, audio: str = ""):
        """Ask for a recording, layer and model; map where the sound belongs, in the background."""
        from sounding_qgis.dialogs import SoundscapeDialog
        from sounding_qgis.raster_actions import soundscape_task
        from sounding_qgis.tasks import start_task

        dialog = SoundscapeDialog(self.iface, audio=audio or "")
        if dialog.exec() and dialog.job is not None:
            return start_task(soundscape_task(self.iface, dialog.job))
        return None

    def install_dependencies(self):
        """Confirm (build, size, command), then install the missing packages (restart after)."""
        from sounding_qgis.installer import DependencyInstaller

        self.installer = DependencyInstaller(self.iface, self.iface.mainWindow())
        return self.installer.confirm_and_start(list(self.dependencies.missing))

    def remove_installed_packages(self) -> bool:
        """Confirm, then delete the folder "Install dependencies" filled."""
        from sounding_qgis.installer import DependencyInstaller

        return DependencyInstaller(self.iface, self.iface.mainWindow()).remove_installed()

    def show_about(self) -> None:
        from backend import __version__

        status = (
            tr("All backend packages import.")
            if self.dependencies.ok
            else missing_message(self.dependencies)
        )
        about = tr(
            "Self-supervised audiovisual representation learning for remote sensing "
            "(Heidler et al., arXiv 2108.00688)."
        )
        QMessageBox.information(
            self.iface.mainWindow(),
            PLUGIN_NAME,
            f"Sounding Earth {__version__}\n\n{about}\n\n{status}",
        )
