"""Stand-ins for the ``qgis.core`` classes the plugin's widgets use (PyQt6 checks only).

Each does the least the widgets need, on real PyQt6 objects:

- ``Qgis``: the version number and the message levels (scoped as in QGIS 4, with the
  unscoped names QGIS 4 keeps).
- ``QgsSettings``: a ``QSettings`` in the INI file named by $SOUNDING_QT6_SETTINGS.
- ``QgsApplication``: the profile folder ($SOUNDING_QT6_PROFILE) and a task manager
  that runs each task's ``run()`` from the event loop, then its ``finished()``, on the
  main thread (QGIS runs ``run()`` on a worker thread).
- ``QgsTask``: a ``QObject`` with ``progressChanged``, ``setProgress``, ``cancel``.
- ``QgsMessageLog``: keeps the messages in a list.
- ``QgsMapLayerProxyModel``: the layer filter flags.
- ``QgsRasterLayer`` and every other ``Qgs*`` name: an empty class (imported, not used,
  by the code the checks run).
"""

from __future__ import annotations

import enum
import os

from PyQt6.QtCore import QObject, QSettings, QTimer, pyqtSignal


class Qgis:
    """The version and the message levels."""

    QGIS_VERSION_INT = 40000
    QGIS_VERSION = "4.0.0 (stand-in)"

    class MessageLevel(enum.IntEnum):
        """As ``Qgis.MessageLevel``."""

        Info = 0
        Warning = 1
        Critical = 2
        Success = 3
        NoLevel = 4

    # QGIS 4 keeps these unscoped names (python/PyQt6/core/auto_additions/qgis.py)
    Info = MessageLevel.Info
    Warning = MessageLevel.Warning
    Critical = MessageLevel.Critical
    Success = MessageLevel.Success


class QgsSettings(QSettings):
    """QSettings in one INI file ($SOUNDING_QT6_SETTINGS)."""

    def __init__(self) -> None:
        super().__init__(os.environ["SOUNDING_QT6_SETTINGS"], QSettings.Format.IniFormat)


class QgsMessageLog:
    """Keeps ``(message, tag, level)`` of every call."""

    messages: list[tuple[str, str, object]] = []

    @classmethod
    def logMessage(cls, message, tag="", level=Qgis.Info, notifyUser=True):  # noqa: N802, N803
        """Record the message."""
        cls.messages.append((message, tag, level))


class QgsTask(QObject):
    """A task whose ``run()`` the stand-in task manager calls from the event loop."""

    CanCancel = 2
    progressChanged = pyqtSignal(float)  # noqa: N815 (Qt naming)

    def __init__(self, description: str = "", flags: int = 0) -> None:
        super().__init__()
        self._description = description
        self._cancelled = False
        self._progress = 0.0
        self.done = False

    def description(self) -> str:
        """The description given."""
        return self._description

    def setProgress(self, value: float) -> None:  # noqa: N802
        """Store and signal the progress (0 to 100)."""
        self._progress = float(value)
        self.progressChanged.emit(self._progress)

    def progress(self) -> float:
        """The last progress."""
        return self._progress

    def cancel(self) -> None:
        """Ask the task to stop."""
        self._cancelled = True

    def isCanceled(self) -> bool:  # noqa: N802
        """Whether :meth:`cancel` was called."""
        return self._cancelled


class _TaskManager:
    def __init__(self) -> None:
        self.tasks: list[QgsTask] = []

    def addTask(self, task: QgsTask) -> None:  # noqa: N802
        self.tasks.append(task)

        def run() -> None:
            ok = False if task.isCanceled() else task.run()
            task.finished(ok)
            task.done = True

        QTimer.singleShot(0, run)


class QgsApplication:
    """The profile folder and the task manager."""

    _manager = _TaskManager()

    @staticmethod
    def qgisSettingsDirPath() -> str:  # noqa: N802
        """The active profile's folder ($SOUNDING_QT6_PROFILE), with a trailing slash as QGIS."""
        return os.environ["SOUNDING_QT6_PROFILE"].rstrip("/") + "/"

    @classmethod
    def taskManager(cls) -> _TaskManager:  # noqa: N802
        """The stand-in task manager."""
        return cls._manager


class QgsMapLayerProxyModel:
    """The layer filter flags."""

    RasterLayer = 1
    VectorLayer = 2


class QgsRasterLayer:
    """Never instantiated by the checks: no layer is ever chosen."""


def __getattr__(name: str):
    """Any other ``Qgs*`` class: an empty class (imported by the modules, not used)."""
    if name.startswith("Qgs"):
        placeholder = type(name, (), {"__doc__": "empty stand-in (unused by the checks)"})
        globals()[name] = placeholder
        return placeholder
    raise AttributeError(name)
