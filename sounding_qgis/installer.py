"""The "Install dependencies" action: pip for QGIS's Python, in the background, with a progress dialog."""

from __future__ import annotations

import os
import queue
import subprocess
import threading
from pathlib import Path

from qgis.core import Qgis
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import QMessageBox, QProgressDialog

from sounding_qgis.dependencies import (
    TORCH_PACKAGES,
    TorchBuild,
    add_dependency_folder_to_path,
    choose_build,
    dependency_folder,
    finish_install,
    folder_size,
    format_command,
    install_command,
    remove_dependency_folder,
)
from sounding_qgis.i18n import tr
from sounding_qgis.tasks import BackendTask, log, start_task

PLUGIN_NAME = "Sounding Earth"
#: lines of pip's output quoted in an error message
ERROR_TAIL_LINES = 12


def _estimate(fraction: float, line: str, events: int) -> tuple[float, int]:
    """A rough fraction from pip's output: it never says how much is left."""
    stripped = line.strip()
    if stripped.startswith(("Collecting", "Downloading", "Using cached", "Processing")):
        events += 1
        return max(fraction, 0.85 * (1 - 1 / (1 + 0.15 * events))), events
    if stripped.startswith("Installing collected packages"):
        return max(fraction, 0.9), events
    if stripped.startswith("Successfully installed"):
        return 1.0, events
    return fraction, events


def run_pip(command: list[str], progress=None, env: dict[str, str] | None = None) -> str:
    """Run a pip ``command``; report its output lines as progress; return the whole output.

    Args:
        command: From :func:`sounding_qgis.dependencies.install_command`.
        progress: A backend ``Progress``; cancelling it stops pip.
        env: Environment of the pip process (default: this one).

    Raises:
        Cancelled: Cancelled through ``progress`` (pip is terminated).
        RuntimeError: pip failed; the message quotes the end of its output.
    """
    from backend.progress import Cancelled

    environment = dict(os.environ if env is None else env)
    environment.setdefault("PIP_NO_INPUT", "1")
    environment.setdefault("PYTHONIOENCODING", "utf-8")
    flags = getattr(subprocess, "CREATE_NO_WINDOW", 0)  # no console window on Windows
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        encoding="utf-8",
        errors="replace",
        env=environment,
        creationflags=flags,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line.rstrip())
        lines.put(None)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    output: list[str] = []
    fraction, events = 0.0, 0
    if progress is not None:
        progress.progress(0.0, "starting pip")
    while True:
        if progress is not None and progress.is_cancelled():
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
            raise Cancelled("installation cancelled")
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        if line is None:
            break
        output.append(line)
        fraction, events = _estimate(fraction, line, events)
        if progress is not None and line.strip():
            progress.progress(fraction, line.strip()[:120])
    code = process.wait()
    reader.join(timeout=5)
    text = "\n".join(output)
    if code != 0:
        tail = "\n".join(line for line in output[-ERROR_TAIL_LINES:] if line.strip())
        raise RuntimeError(tr("pip failed (exit code {code}):").format(code=code) + f"\n{tail}")
    return text


def install_into(
    command: list[str], target: Path, progress=None, env: dict[str, str] | None = None
) -> str:
    """Run pip's ``command`` (which installs into ``target``), then tidy ``target``.

    What the "Install dependencies" action runs in the background: :func:`run_pip`
    then :func:`sounding_qgis.dependencies.finish_install` (QGIS's numpy and GDAL
    leave the folder; an upgrade leaves no old versions behind). Returns pip's
    output followed by the notes of the tidying and the folder's size.
    """
    output = run_pip(command, progress, env)
    notes = finish_install(Path(target), output)
    size = folder_size(Path(target)) / 1e9
    return "\n".join([output, *notes, f"{target} holds {size:.2f} GB"])


class DependencyInstaller:
    """Installs missing packages into the plugin's dependency folder, showing a progress dialog."""

    def __init__(self, iface, parent=None) -> None:
        """``iface`` gives the message bar; ``parent`` is the dialog's parent window."""
        self.iface = iface
        self.parent = parent
        self.dialog: QProgressDialog | None = None
        self.task: BackendTask | None = None

    def confirmation_text(self, names: list[str], command: list[str], build: TorchBuild) -> str:
        """What the confirmation dialog says: the build, its size, the folder, the command."""
        target = command[command.index("--target") + 1]
        lines = [
            tr("Install {packages} for QGIS's Python into {folder}?").format(
                packages=", ".join(names), folder=target
            )
        ]
        if set(TORCH_PACKAGES) & set(names):
            lines.append(build.describe())
        lines += [
            tr("QGIS must be restarted afterwards."),
            tr("Command: {command}").format(command=format_command(command)),
        ]
        return "\n\n".join(lines)

    def confirm_and_start(
        self, names: list[str], target: Path | None = None, build: TorchBuild | None = None
    ) -> BackendTask | None:
        """Ask (build, download size, folder, command); install on Yes; None on No.

        When QGIS's own Python cannot be found, the message bar says so and shows
        what to run instead; nothing starts.
        """
        from sounding_qgis.qgis_python import QgisPythonNotFound

        build = build or choose_build()
        target = Path(target) if target is not None else dependency_folder()
        try:
            command = install_command(names, target, build=build)
        except QgisPythonNotFound as error:
            from sounding_qgis.dependencies import DependencyStatus, missing_message

            text = missing_message(DependencyStatus(missing=list(names)))
            log(f"{error}\n{text}", Qgis.Critical)
            self.iface.messageBar().pushMessage(PLUGIN_NAME, text, level=Qgis.Critical, duration=0)
            return None
        answer = QMessageBox.question(
            self.parent,
            tr("Sounding Earth: install dependencies"),
            self.confirmation_text(names, command, build),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.Yes,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return None
        return self.start(names, target, build=build, command=command)

    def start(
        self,
        names: list[str],
        target: Path | None = None,
        requirements: list[str] | None = None,
        extra_args: list[str] | None = None,
        python: str | None = None,
        build: TorchBuild | None = None,
        command: list[str] | None = None,
    ) -> BackendTask:
        """Begin installing ``names`` (import names) and ``requirements``; return the task.

        Args:
            names: Import names from ``backend.deps.REQUIRED_PACKAGES``.
            target: Folder to install into (default: the plugin's dependency folder).
            requirements: Further pinned pip requirements.
            extra_args: Further pip options (an offline wheel folder, a proxy, ...).
            python: Interpreter (default: QGIS's).
            build: PyTorch build (default: the one for this machine).
            command: The command already built (and shown) by :meth:`confirm_and_start`.
        """
        target = Path(target) if target is not None else dependency_folder()
        if command is None:
            command = install_command(names, target, python, requirements, extra_args, build=build)
        log(f"installing dependencies: {format_command(command)}")
        self.dialog = QProgressDialog(
            tr("Installing {packages} for QGIS's Python…").format(
                packages=", ".join([*names, *(requirements or [])])
            ),
            tr("Cancel"),
            0,
            100,
            self.parent,
        )
        self.dialog.setWindowTitle(tr("Sounding Earth: install dependencies"))
        self.dialog.setWindowModality(Qt.WindowModality.NonModal)
        self.dialog.setAutoClose(False)
        self.dialog.setAutoReset(False)
        self.dialog.setMinimumDuration(0)
        self.dialog.setValue(0)
        self.dialog.show()

        def work(progress):
            return install_into(command, target, progress)

        task = BackendTask(
            "Sounding Earth: install dependencies",
            work,
            on_success=lambda t: self._succeeded(t, target),
            on_failure=self._failed,
            on_cancel=self._cancelled,
        )
        task.progressChanged.connect(self._show_progress)
        task.messageChanged.connect(self._show_message)
        self.dialog.canceled.connect(task.cancel)
        self.task = task
        return start_task(task)

    def _show_progress(self, value: float) -> None:
        if self.dialog is not None:
            self.dialog.setValue(int(value))

    def _show_message(self, message: str) -> None:
        if self.dialog is not None:
            self.dialog.setLabelText(message)

    def _close_dialog(self) -> None:
        if self.dialog is not None:
            try:
                self.dialog.canceled.disconnect()
            except TypeError:
                pass
            self.dialog.close()
            self.dialog.deleteLater()
            self.dialog = None

    def _succeeded(self, task: BackendTask, target: Path) -> None:
        self._close_dialog()
        shadowed = add_dependency_folder_to_path(target)
        log(task.result or "")
        if shadowed:  # imported before the install: only a restart replaces them
            log("already imported from elsewhere: " + "; ".join(map(str, shadowed)))
        self.iface.messageBar().pushMessage(
            PLUGIN_NAME,
            tr(
                "Dependencies installed into {folder} in {seconds} s. "
                "Restart QGIS to use Sounding Earth."
            ).format(folder=target, seconds=f"{task.seconds:.0f}"),
            level=Qgis.Success,
            duration=0,
        )

    def remove_installed(self, folder: Path | None = None) -> bool:
        """Ask, then delete the dependency folder; say what was freed. True when deleted."""
        folder = Path(folder) if folder is not None else dependency_folder()
        bar = self.iface.messageBar()
        if not folder.is_dir():
            bar.pushMessage(
                PLUGIN_NAME,
                tr("No installed packages to remove: {folder} does not exist.").format(
                    folder=folder
                ),
                level=Qgis.Info,
                duration=5,
            )
            return False
        size = folder_size(folder) / 1e9
        answer = QMessageBox.question(
            self.parent,
            tr("Sounding Earth: remove installed packages"),
            tr(
                "Delete {folder} ({size} GB), the Python packages the plugin installed?\n\n"
                "The plugin's algorithms stop working until they are installed again; "
                "restart QGIS afterwards."
            ).format(folder=folder, size=f"{size:.2f}"),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return False
        try:
            freed = remove_dependency_folder(folder)
        except OSError as error:
            log(f"removing {folder} failed: {error}", Qgis.Critical)
            bar.pushMessage(
                PLUGIN_NAME,
                tr(
                    "Could not delete all of {folder} ({error}). Restart QGIS (it keeps loaded "
                    "libraries open) and remove it again, or delete the folder by hand."
                ).format(folder=folder, error=error),
                level=Qgis.Critical,
                duration=0,
            )
            return False
        log(f"removed {folder} ({freed / 1e9:.2f} GB)")
        bar.pushMessage(
            PLUGIN_NAME,
            tr("Removed {folder} ({size} GB). Restart QGIS.").format(
                folder=folder, size=f"{freed / 1e9:.2f}"
            ),
            level=Qgis.Success,
            duration=0,
        )
        return True

    def _failed(self, task: BackendTask) -> None:
        self._close_dialog()
        self.iface.messageBar().pushMessage(
            PLUGIN_NAME,
            tr("Installing dependencies failed: {error}").format(error=task.error),
            level=Qgis.Critical,
            duration=0,
        )

    def _cancelled(self, task: BackendTask) -> None:
        self._close_dialog()
        self.iface.messageBar().pushMessage(
            PLUGIN_NAME,
            tr("Installing dependencies was cancelled."),
            level=Qgis.Info,
            duration=5,
        )
