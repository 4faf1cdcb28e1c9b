"""Background work for the toolbar actions and the dock: one ``QgsTask`` that calls the backend.

The pattern (as in Deepness's map processors): ``run()`` executes on a worker
thread, never touches a widget or a layer, and never raises — every outcome
(result, cancellation, error text and traceback) is stored on the task.
``finished()`` runs on the main thread and hands that outcome to callbacks,
which create layers and push messages. A callback that raises is logged, never
shown as a Python error dialog.
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from qgis.core import Qgis, QgsApplication, QgsMessageLog, QgsTask
from qgis.PyQt.QtCore import pyqtSignal

from sounding_qgis.progress import TaskProgress

LOG_TAG = "Sounding Earth"

#: tasks that were started and have not finished: QGIS needs the Python object to stay alive
_ACTIVE: set[BackendTask] = set()


def error_text(error: BaseException) -> str:
    """The backend's message for ``error``: the text alone for errors it raises on bad input."""
    from backend.atomic import OutputError  # standard library only: always importable

    text = str(error).strip()
    if isinstance(error, ValueError | FileNotFoundError | PermissionError | OutputError) and text:
        return text
    name = type(error).__name__
    return f"{name}: {text}" if text else name


def log(message: str, level=Qgis.Info) -> None:
    """Write ``message`` to the Sounding Earth tab of the log panel."""
    QgsMessageLog.logMessage(message, LOG_TAG, level)


class BackendTask(QgsTask):
    """Runs ``work(progress)`` off the main thread; reports its outcome on the main thread.

    Attributes (read them in the callbacks):
        result: What ``work`` returned (``None`` unless it succeeded).
        error: The error text (``None`` unless it failed).
        details: The traceback of the failure, for the log.
        cancelled: True when it stopped because it was cancelled.
        seconds: Wall-clock time ``run()`` took.
    """

    #: a new progress message from the worker (delivered on the main thread)
    messageChanged = pyqtSignal(str)  # noqa: N815 (Qt naming)

    def __init__(
        self,
        description: str,
        work: Callable[[Any], Any],
        on_success: Callable[[BackendTask], None] | None = None,
        on_failure: Callable[[BackendTask], None] | None = None,
        on_cancel: Callable[[BackendTask], None] | None = None,
        cleanup: Iterable[str | os.PathLike] = (),
    ) -> None:
        """Prepare the task (start it with :func:`start_task`).

        Args:
            description: Shown in QGIS's task manager.
            work: Called on the worker thread with a backend ``Progress``.
            on_success, on_failure, on_cancel: Called on the main thread with the task.
            cleanup: Output files removed when the task fails or is cancelled, if
                they did not exist before (the backend writes atomically; this is
                a second guard).
        """
        super().__init__(description, QgsTask.CanCancel)
        self.work = work
        self.on_success = on_success
        self.on_failure = on_failure
        self.on_cancel = on_cancel
        self.cleanup = [Path(p) for p in cleanup if not Path(p).exists()]
        self.result: Any = None
        self.error: str | None = None
        self.details = ""
        self.cancelled = False
        self.seconds = 0.0
        self.message = ""

    def report_message(self, message: str) -> None:
        """Called by :class:`TaskProgress` on the worker thread."""
        self.message = message
        self.messageChanged.emit(message)

    # --- worker thread ---------------------------------------------------------------
    def run(self) -> bool:  # noqa: D102 (QgsTask API)
        from backend.progress import Cancelled

        started = time.perf_counter()
        try:
            self.result = self.work(TaskProgress(self))
            if self.isCanceled():
                # finished, but the user asked to stop: treat it as cancelled
                self.cancelled = True
                return False
            return True
        except Cancelled:
            self.cancelled = True
            return False
        except BaseException as error:  # noqa: BLE001 (run() must never raise)
            if self.isCanceled():
                self.cancelled = True
            self.error = error_text(error)
            self.details = traceback.format_exc()
            return False
        finally:
            self.seconds = time.perf_counter() - started

    # --- main thread -----------------------------------------------------------------
    def finished(self, ok: bool) -> None:  # noqa: D102 (QgsTask API)
        try:
            if ok:
                callback = self.on_success
            else:
                self._remove_partial_outputs()
                if self.cancelled or (self.error is None and self.isCanceled()):
                    self.cancelled = True
                    callback = self.on_cancel
                else:
                    if self.error is None:
                        self.error = "the task was terminated"
                    log(f"{self.description()} failed: {self.error}\n{self.details}", Qgis.Critical)
                    callback = self.on_failure
            if callback is not None:
                callback(self)
        except Exception:  # noqa: BLE001 (a failing callback must not reach Qt)
            log(
                f"{self.description()}: error while finishing\n{traceback.format_exc()}",
                Qgis.Critical,
            )
        finally:
            _ACTIVE.discard(self)

    def _remove_partial_outputs(self) -> None:
        for path in self.cleanup:
            try:
                if path.is_file():
                    path.unlink()
            except OSError:
                pass


def start_task(task: BackendTask) -> BackendTask:
    """Hand ``task`` to QGIS's task manager and keep it alive until it has finished."""
    _ACTIVE.add(task)
    QgsApplication.taskManager().addTask(task)
    return task


def active_tasks() -> list[BackendTask]:
    """The tasks started by the plugin that have not finished."""
    return list(_ACTIVE)


def cancel_all() -> None:
    """Cancel every running plugin task (on unload)."""
    for task in list(_ACTIVE):
        task.cancel()
