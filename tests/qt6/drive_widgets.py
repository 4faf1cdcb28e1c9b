"""Build and use every widget of the plugin under PyQt6 (run by tests/sounding_qgis/test_qt6_widgets.py).

    <pyqt6 venv>/bin/python tests/qt6/drive_widgets.py INPUTS.json

Runs in the PyQt6 venv ``make setup`` makes (no PyQt5, no QGIS): ``qgis`` is the
stand-in package of tests/qt6/shim, whose ``qgis.PyQt`` is real PyQt6. Each check
builds a widget, drives it as a user would (buttons, tables, modal dialogs answered
through the event loop) and asserts what it shows. Prints one JSON line: the Qt and
PyQt versions and the names of the checks that ran. Any failure is a traceback and a
non-zero exit.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path
from types import SimpleNamespace

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(HERE / "shim"), str(ROOT)]

from PyQt6.QtCore import PYQT_VERSION_STR, QT_VERSION_STR, QObject, QTimer, pyqtSignal  # noqa: E402
from PyQt6.QtWidgets import (  # noqa: E402
    QApplication,
    QDialog,
    QDialogButtonBox,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QWidget,
)

CHECKS: list[str] = []


def check(function):
    """Run ``function`` now and record its name."""
    function()
    CHECKS.append(function.__name__)
    return function


# --- an iface of stand-ins around a real QMainWindow ------------------------------------------
class MessageBar:
    """Keeps ``(level, text)`` of each message."""

    def __init__(self) -> None:
        self.messages: list[tuple[object, str]] = []
        self.widgets: list[QWidget] = []

    def pushMessage(self, title, text, level=0, duration=0):  # noqa: N802, D102
        self.messages.append((level, text))

    def createMessage(self, title, text):  # noqa: N802, D102
        from PyQt6.QtWidgets import QHBoxLayout, QLabel

        item = QWidget()
        layout = QHBoxLayout(item)
        layout.addWidget(QLabel(f"{title}: {text}", item))
        return item

    def pushWidget(self, item, level=0, duration=0):  # noqa: N802, D102
        self.widgets.append(item)


class EmptyRectangle:
    """The extent of an empty canvas."""

    def isEmpty(self) -> bool:  # noqa: N802, D102
        return True

    def isNull(self) -> bool:  # noqa: N802, D102
        return True


class Canvas(QObject):
    """A map canvas showing nothing."""

    extentsChanged = pyqtSignal()  # noqa: N815

    def extent(self):  # noqa: D102
        return EmptyRectangle()


class Iface:
    """What the plugin asks of QGIS's ``iface``."""

    def __init__(self) -> None:
        self.window = QMainWindow()
        self.canvas = Canvas()
        self.bar = MessageBar()
        self.menu: list = []

    def mainWindow(self):  # noqa: N802, D102
        return self.window

    def activeLayer(self):  # noqa: N802, D102
        return None

    def mapCanvas(self):  # noqa: N802, D102
        return self.canvas

    def messageBar(self):  # noqa: N802, D102
        return self.bar

    def addToolBar(self, name):  # noqa: N802, D102
        return self.window.addToolBar(name)

    def addPluginToMenu(self, menu, action):  # noqa: N802, D102
        self.menu.append(action)

    def removePluginMenu(self, menu, action):  # noqa: N802, D102
        self.menu.remove(action)

    def addDockWidget(self, area, dock):  # noqa: N802, D102
        self.window.addDockWidget(area, dock)

    def removeDockWidget(self, dock):  # noqa: N802, D102
        self.window.removeDockWidget(dock)


def answer_next_box(button) -> list[str]:
    """Press ``button`` in the next modal QMessageBox; the list receives its text."""
    seen: list[str] = []

    def press() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            seen.append(box.text())
            box.button(button).click()
        else:
            QTimer.singleShot(20, press)

    QTimer.singleShot(0, press)
    return seen


def reject_next_dialog() -> list[QDialog]:
    """Reject the next modal dialog (as the user pressing Cancel); the list receives it."""
    seen: list[QDialog] = []

    def press() -> None:
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, QDialog):
            seen.append(dialog)
            dialog.reject()
        else:
            QTimer.singleShot(20, press)

    QTimer.singleShot(0, press)
    return seen


def wait(task, seconds: float = 120.0) -> None:
    """Run the event loop until the stand-in task manager has finished ``task``."""
    end = time.monotonic() + seconds
    while not task.done:
        if time.monotonic() > end:
            raise TimeoutError(task.description())
        QApplication.processEvents()
        time.sleep(0.01)


def match(key: int, file: str) -> SimpleNamespace:
    """A record with the fields of ``backend.index.SoundMatch`` that the panel shows."""
    return SimpleNamespace(
        key=key,
        title=f"recording {key}",
        creator="someone",
        similarity=0.5 - key / 10,
        distance_km=None if key else 1.25,
        file=file,
        licence="CC0",
        longitude=10.0,
        latitude=50.0,
    )


def main() -> None:  # noqa: C901, PLR0915 (one script of checks)
    """Run every check; print the summary."""
    inputs = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    work = Path(inputs["work"])
    try:
        import PyQt5  # noqa: F401
    except ImportError:
        pass
    else:
        raise AssertionError("PyQt5 is importable: these checks must run on PyQt6 alone")

    app = QApplication([])
    iface = Iface()

    import qgis.PyQt.QtCore

    assert qgis.PyQt.QtCore.QT_VERSION_STR.startswith("6.")

    @check
    def profile_paths():
        from sounding_qgis.dependencies import DEPENDENCY_FOLDER_NAME, dependency_folder
        from sounding_qgis.settings import remember_path, remembered_path

        # QGIS 4 keeps its profiles apart from QGIS 3's: the folder comes from QGIS's API
        profile = Path(os.environ["SOUNDING_QT6_PROFILE"])
        assert dependency_folder() == profile / "python" / DEPENDENCY_FOLDER_NAME
        remember_path("recording", inputs["recording"])
        assert remembered_path("recording") == inputs["recording"]
        ini = Path(os.environ["SOUNDING_QT6_SETTINGS"])
        from qgis.core import QgsSettings

        QgsSettings().sync()
        assert inputs["recording"] in ini.read_text(encoding="utf-8")

    @check
    def model_chooser():
        from sounding_qgis.model_chooser import ModelChooser

        chooser = ModelChooser(("classifier",), allow_none="(none)")
        assert chooser.paths() == ["", inputs["classifier"]], chooser.paths()
        changed: list[str] = []
        chooser.fileChanged.connect(changed.append)
        chooser.setFilePath(inputs["classifier"])
        assert chooser.filePath() == inputs["classifier"]
        elsewhere = str(work / "elsewhere.safetensors")
        chooser.setFilePath(elsewhere)
        assert chooser.filePath() == elsewhere and "missing" in chooser.combo.currentText()
        assert changed[-1] == elsewhere
        tip = chooser.combo.itemData(1, qgis.PyQt.QtCore.Qt.ItemDataRole.ToolTipRole)
        assert tip == elsewhere
        chooser.refresh()
        assert chooser.filePath() == elsewhere
        chooser.deleteLater()

    @check
    def classify_dialog():
        from sounding_qgis.dialogs import ClassifyDialog

        dialog = ClassifyDialog(iface)
        assert dialog.buttons.button(QDialogButtonBox.StandardButton.Ok) is not None
        assert dialog.model_widget.filePath() == inputs["classifier"]
        dialog.accept()  # no imagery layer: the dialog stays open and says why
        assert dialog.job is None
        assert "imagery layer" in dialog.error_label.text()
        dialog.output_file.setChecked(True)
        assert dialog.output_widget.isEnabled()
        seen = reject_next_dialog()
        assert dialog.exec() == QDialog.DialogCode.Rejected and seen == [dialog]
        dialog.deleteLater()

    @check
    def soundscape_dialog():
        from sounding_qgis.dialogs import SoundscapeDialog

        dialog = SoundscapeDialog(iface, audio=inputs["recording"])
        assert dialog.audio_widget.filePath() == inputs["recording"]
        assert dialog.model_widget.filePath() == inputs["audiovisual"]
        assert dialog.form.rowCount() == 5
        dialog.accept()
        assert dialog.job is None and dialog.error_label.text()
        dialog.deleteLater()

    @check
    def sounds_here_dock():
        from qgis.PyQt.QtCore import Qt

        from sounding_qgis.sounds_dock import SoundsHereDock

        dock = SoundsHereDock(iface)
        iface.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        dock.show()
        assert dock.refresh() is None and dock.status_label.text() == "Choose an imagery layer."
        assert not dock.play_button.isEnabled()
        dock.set_matches([match(0, inputs["recording"]), match(1, inputs["recording"])])
        assert dock.table.rowCount() == 2
        assert dock.table.horizontalHeaderItem(2).text() == "Similarity"
        assert dock.table.item(0, 2).text() == "+0.500" and dock.table.item(0, 3).text() == "1.25"
        alignment = Qt.AlignmentFlag(dock.table.item(0, 2).textAlignment())
        assert alignment == Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        assert dock.selected_row() == 0 and dock.play_button.isEnabled()
        dock.table.selectRow(1)
        asked: list[str] = []
        dock.soundscapeRequested.connect(asked.append)
        dock.soundscape_button.click()
        assert asked == [inputs["recording"]]
        dock.set_matches([], "euclidean")
        assert dock.table.horizontalHeaderItem(2).text() == "−Distance"
        assert not dock.show_button.isEnabled()
        dock.shutdown()
        iface.removeDockWidget(dock)
        dock.deleteLater()

    @check
    def sound_player():
        from sounding_qgis.player import SoundPlayer

        player = SoundPlayer()
        # QtMultimedia loads only where its system libraries (PulseAudio) are installed
        inputs["player"] = player.backend
        assert player.is_playing() is False
        player.stop()
        try:
            player.play(work / "no such recording.wav")
        except FileNotFoundError as error:
            assert "no such recording" in str(error)
        else:
            raise AssertionError("playing a missing file must fail")

    @check
    def installer_confirmation():
        from sounding_qgis.installer import DependencyInstaller

        installer = DependencyInstaller(iface, iface.mainWindow())
        seen = answer_next_box(QMessageBox.StandardButton.No)
        task = installer.confirm_and_start(["soundfile"], target=work / "deps")
        inputs["installer_asked"] = bool(seen)
        if seen:  # QGIS's Python was found (here: this venv's): the question was asked
            assert task is None and "Install soundfile" in seen[0], seen
        else:  # not found: the message bar says what to run instead
            assert task is None and iface.bar.messages, iface.bar.messages

    @check
    def installer_progress_and_failure():
        from qgis.core import Qgis

        from sounding_qgis.installer import DependencyInstaller

        installer = DependencyInstaller(iface, iface.mainWindow())
        empty = work / "no-wheels"
        empty.mkdir(exist_ok=True)
        task = installer.start(
            [],
            target=work / "deps",
            requirements=["soundingprobe==1.0"],
            extra_args=["--no-index", "--find-links", str(empty)],
            python=sys.executable,
        )
        assert installer.dialog is not None and installer.dialog.isVisible()
        wait(task)
        assert installer.dialog is None  # closed
        level, text = iface.bar.messages[-1]
        assert level == Qgis.Critical and "Installing dependencies failed" in text, text

    @check
    def installer_remove_folder():
        from qgis.core import Qgis

        from sounding_qgis.installer import DependencyInstaller

        folder = work / "installed"
        (folder / "pkg").mkdir(parents=True)
        (folder / "pkg" / "__init__.py").write_text("x = 1\n")
        installer = DependencyInstaller(iface, iface.mainWindow())
        seen = answer_next_box(QMessageBox.StandardButton.No)
        assert installer.remove_installed(folder) is False and folder.is_dir()
        assert str(folder) in seen[0]
        answer_next_box(QMessageBox.StandardButton.Yes)
        assert installer.remove_installed(folder) is True and not folder.exists()
        assert iface.bar.messages[-1][0] == Qgis.Success

    @check
    def models_dialog():
        from backend.catalogue import add_entry
        from sounding_qgis.models_dialog import ModelsDialog

        folder = work / "catalogue-models"
        add_entry(Path(inputs["audiovisual"]).as_uri(), "1" * 64, name="tampered", folder=folder)
        dialog = ModelsDialog(iface, folder=str(folder))
        names = [dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())]
        assert {"soundingearth-resnet50", "tampered"} <= set(names), names
        dialog.table.selectRow(names.index("soundingearth-resnet50"))
        assert "github.com/khdlr/SoundingEarth" in dialog.note_label.text()
        assert dialog.download_selected() is None
        assert "no file address" in dialog.status_label.text()
        dialog.table.selectRow(names.index("tampered"))
        task = dialog.download_selected()
        assert task is not None and dialog.cancel_button.isEnabled()
        wait(task)
        assert task.error and dialog.status_label.text().startswith("tampered: ")
        assert not dialog.cancel_button.isEnabled()
        assert not (folder / "tampered.safetensors").exists()
        close = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Close)
        close.click()
        assert not dialog.isVisible()
        dialog.deleteLater()

    @check
    def labels_dialog_widgets():
        from processing.gui.wrappers import WidgetWrapper  # the stand-in

        from sounding_qgis.labels_action import report_button
        from sounding_qgis.model_wrapper import ModelChoiceWrapper

        report = work / "report.html"
        report.write_text("<p>report</p>")
        button = report_button(iface, str(report), "Trained a model.")
        assert isinstance(button, QPushButton) and button.text() == "Open accuracy report"
        assert iface.bar.widgets[-1] is button.parent()
        wrapper = ModelChoiceWrapper(kinds="audiovisual", allow_none="(none: random weights)")
        assert isinstance(wrapper, WidgetWrapper)
        changed: list = []
        wrapper.widgetValueHasChanged.connect(changed.append)
        assert wrapper.value() is None  # "(none: random weights)" comes first
        wrapper.setValue(inputs["audiovisual"])
        assert wrapper.value() == inputs["audiovisual"] and changed == [wrapper]
        wrapper.setValue(None)
        assert wrapper.value() is None and changed == [wrapper, wrapper]

    @check
    def plugin_toolbar_menu_and_dock():
        import sounding_qgis.plugin as plugin_module
        from sounding_qgis.dependencies import DependencyStatus

        # every backend package counts as importable, so the whole interface is built
        # (the Processing provider needs QGIS's Processing framework: not registered here)
        plugin_module.check_dependencies = lambda: DependencyStatus()
        plugin = plugin_module.SoundingEarthPlugin(iface)
        plugin.initProcessing = lambda: None
        iface.window.show()
        plugin.initGui()
        texts = [action.text() for action in plugin.actions]
        assert plugin_module.CLASSIFY_TEXT in texts and plugin_module.MODELS_TEXT in texts
        assert len(plugin.toolbar.actions()) == 4
        plugin.toggle_dock(True)
        assert plugin.dock.isVisible()
        assert iface.window.dockWidgetArea(plugin.dock) == (
            qgis.PyQt.QtCore.Qt.DockWidgetArea.RightDockWidgetArea
        )
        seen = reject_next_dialog()
        assert plugin.classify_layer() is None and seen
        seen = reject_next_dialog()
        assert plugin.soundscape_map(inputs["recording"]) is None and seen
        about = answer_next_box(QMessageBox.StandardButton.Ok)
        plugin.show_about()
        assert about and "Sounding Earth" in about[0]
        models = plugin.show_models()
        assert models.isVisible()
        plugin.unload()
        assert plugin.actions == [] and plugin.toolbar is None and plugin.dock is None
        assert iface.menu == []

    shutil.rmtree(work / "deps", ignore_errors=True)
    print(
        json.dumps(
            {
                "qt": QT_VERSION_STR,
                "pyqt": PYQT_VERSION_STR,
                "platform": app.platformName(),
                "player": inputs.get("player"),
                "installer_asked": inputs.get("installer_asked"),
                "checks": CHECKS,
            }
        ),
        flush=True,
    )
    os._exit(0)  # skip Qt's teardown of the widgets still alive (no finding depends on it)


if __name__ == "__main__":
    main()
