"""The "Install dependencies" action: pip into the plugin's folder, in the background."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy
from qgis.core import Qgis
from qgis.PyQt.QtCore import QTimer
from qgis.PyQt.QtWidgets import QApplication, QMessageBox

from backend.deps import DOWNLOAD_SIZE_MB, REQUIRED_PACKAGES
from sounding_qgis.dependencies import (
    choose_build,
    constraints_text,
    finish_install,
    install_command,
)
from sounding_qgis.installer import DependencyInstaller, install_into, run_pip
from sounding_qgis.plugin import REMOVE_TEXT, SoundingEarthPlugin
from tests.cancelling import CancelAfter
from tests.sounding_qgis.helpers import make_wheel, wait_for_task


def answer_next_dialog(button) -> list[str]:
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


def test_install_of_one_pinned_package_runs_in_background_and_asks_for_restart(
    qgis_iface, tmp_path: Path
):
    wheels = tmp_path / "wheels"
    make_wheel(wheels, "soundingprobe", "1.0.0")
    make_wheel(wheels, "soundingprobe", "2.0.0")
    target = tmp_path / "deps"
    qgis_iface.messageBar().clear_messages()
    installer = DependencyInstaller(qgis_iface)
    task = installer.start(
        [],
        target=target,
        requirements=["soundingprobe==1.0.0"],
        extra_args=["--no-index", "--find-links", str(wheels)],
        python=sys.executable,
    )
    assert installer.dialog is not None and installer.dialog.isVisible()
    wait_for_task(task, timeout=120)
    assert task.error is None, task.error
    assert (target / "soundingprobe" / "__init__.py").read_text() == 'VERSION = "1.0.0"\n'
    assert (target / "soundingprobe-1.0.0.dist-info").is_dir()
    assert installer.dialog is None  # closed
    assert str(target) in sys.path  # usable at once; a restart makes it permanent
    messages = qgis_iface.messageBar().get_messages(Qgis.Success)
    assert len(messages) == 1 and "Restart QGIS" in messages[0]
    # the constraint file beside the folder keeps numpy at QGIS's version
    constraints = (tmp_path / "deps-constraints.txt").read_text()
    assert f"numpy>={numpy.__version__}," in constraints
    sys.path.remove(str(target))


def test_failed_install_reports_pips_error_in_message_bar(qgis_iface, tmp_path: Path):
    qgis_iface.messageBar().clear_messages()
    installer = DependencyInstaller(qgis_iface)
    task = installer.start(
        [],
        target=tmp_path / "deps",
        requirements=["soundingprobe==9.9.9"],
        extra_args=["--no-index", "--find-links", str(tmp_path)],
        python=sys.executable,
    )
    wait_for_task(task, timeout=120)
    errors = qgis_iface.messageBar().get_messages(Qgis.Critical)
    assert len(errors) == 1
    assert "pip failed" in errors[0] and "soundingprobe==9.9.9" in errors[0]
    assert not (tmp_path / "deps" / "soundingprobe").exists()


def test_cancelling_pip_stops_it(tmp_path: Path):
    from backend.progress import Cancelled

    command = [sys.executable, "-c", "import time; time.sleep(60)"]
    try:
        run_pip(command, CancelAfter(0))
    except Cancelled:
        pass
    else:
        raise AssertionError("run_pip did not stop")


def test_command_for_the_full_set_pins_everything_and_constrains_numpy(tmp_path: Path):
    target = tmp_path / "profile" / "python" / "sounding_earth_deps"
    names = list(REQUIRED_PACKAGES)
    command = install_command(
        names, target=target, python="/opt/qgis/bin/python3", build=choose_build(gpu=False)
    )
    assert command[:4] == ["/opt/qgis/bin/python3", "-m", "pip", "install"]
    assert command[command.index("--target") + 1] == str(target)
    for requirement in REQUIRED_PACKAGES.values():
        assert requirement in command
    assert "--upgrade" in command  # a second run repairs a broken folder
    constraints = Path(command[command.index("--constraint") + 1])
    assert constraints.is_file() and constraints.parent == target.parent
    text = constraints.read_text()
    assert f"numpy>={numpy.__version__}," in text
    assert "numpy<2\n" not in text  # QGIS's numpy, not the project's range
    assert "attrs>=24.1" in text  # the project's other constraints come along
    assert text == constraints_text()


def test_newer_plugin_pins_upgrade_the_folder_in_place(tmp_path: Path):
    wheels = tmp_path / "wheels"
    make_wheel(wheels, "soundingprobe", "1.0.0")
    make_wheel(wheels, "soundingprobe", "2.0.0")
    target = tmp_path / "deps"
    offline = ["--no-index", "--find-links", str(wheels)]
    for version in ("1.0.0", "2.0.0"):  # plugin 0.1 pins 1.0.0, the next one 2.0.0
        command = install_command(
            [], target, sys.executable, requirements=[f"soundingprobe=={version}"],
            extra_args=offline,
        )  # fmt: skip
        output = install_into(command, target)
        assert f"Successfully installed soundingprobe-{version}" in output
    assert (target / "soundingprobe" / "__init__.py").read_text() == 'VERSION = "2.0.0"\n'
    # pip --target --upgrade leaves the old dist-info behind; the installer removes it
    assert sorted(p.name for p in target.glob("*.dist-info")) == ["soundingprobe-2.0.0.dist-info"]
    assert "replaced soundingprobe 1.0.0 by 2.0.0" in output


def test_numpy_pulled_in_by_pip_is_removed_so_qgis_numpy_stays(tmp_path: Path):
    wheels = tmp_path / "wheels"
    # within the constraint: QGIS's version or later, same major (1.x on 3.22, 2.x on 3.40)
    fake = f"{numpy.__version__.split('.')[0]}.99.0"
    make_wheel(wheels, "numpy", fake)
    make_wheel(wheels, "soundingprobe", "1.0.0")
    target = tmp_path / "deps"
    command = install_command(
        [], target, sys.executable, requirements=["soundingprobe==1.0.0", "numpy"],
        extra_args=["--no-index", "--find-links", str(wheels)],
    )  # fmt: skip
    output = install_into(command, target)
    assert f"numpy-{fake}" in output  # pip installed it ...
    assert (target / "soundingprobe").is_dir()
    assert not list(target.glob("numpy*"))  # ... and it is gone
    assert "removed numpy (QGIS's own package is used)" in output


def test_package_needing_a_newer_numpy_than_qgis_has_is_reported(tmp_path: Path):
    info = tmp_path / "deps" / "needsnew-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: needsnew\nVersion: 1.0\nRequires-Dist: numpy>=99\n"
        "Requires-Dist: numpy>=999; extra == 'fast'\n"
    )
    try:
        finish_install(tmp_path / "deps")
    except RuntimeError as error:
        assert f"QGIS's numpy {numpy.__version__} is too old for: needsnew 1.0 needs numpy>=99" == (
            str(error)
        )
    else:
        raise AssertionError("no error for a package needing numpy>=99")


def test_install_asks_first_showing_build_size_folder_and_command(
    qgis_iface, tmp_path: Path, monkeypatch
):
    wheels = tmp_path / "wheels"
    make_wheel(wheels, "safetensors", "0.7.0")  # stands in for the real one, offline
    target = tmp_path / "deps"
    installer = DependencyInstaller(qgis_iface)
    cpu = choose_build(gpu=False, wheel_folder="")
    seen = answer_next_dialog(QMessageBox.No)
    assert installer.confirm_and_start(["torch", "safetensors"], target, build=cpu) is None
    assert len(seen) == 1
    cpu_mb = DOWNLOAD_SIZE_MB["cpu"]
    assert f"CPU-only PyTorch (no NVIDIA GPU found): about {cpu_mb} MB to download" in seen[0]
    assert str(target) in seen[0] and "--index-url https://download.pytorch.org/whl/cpu" in seen[0]
    assert not target.exists()  # "No": nothing ran

    monkeypatch.setenv("SOUNDING_EARTH_WHEEL_FOLDER", str(wheels))
    qgis_iface.messageBar().clear_messages()
    seen = answer_next_dialog(QMessageBox.Yes)
    task = installer.confirm_and_start(["safetensors"], target)
    assert task is not None and len(seen) == 1
    assert f"{sys.executable} -m pip install" in seen[0]
    assert f"--no-index --find-links {wheels}" in seen[0]
    wait_for_task(task, timeout=120)
    assert task.error is None, task.error
    assert (target / "safetensors" / "__init__.py").is_file()
    assert "Restart QGIS" in qgis_iface.messageBar().get_messages(Qgis.Success)[0]
    sys.path.remove(str(target))


def test_remove_installed_packages_asks_then_deletes_the_folder(qgis_iface, tmp_path: Path):
    folder = tmp_path / "sounding_earth_deps"
    (folder / "pkg").mkdir(parents=True)
    (folder / "pkg" / "data.bin").write_bytes(b"x" * 1_000_000)
    (tmp_path / "sounding_earth_deps-constraints.txt").write_text("numpy<2\n")
    installer = DependencyInstaller(qgis_iface)

    seen = answer_next_dialog(QMessageBox.No)
    assert installer.remove_installed(folder) is False
    assert folder.is_dir() and str(folder) in seen[0] and "0.00 GB" in seen[0]

    qgis_iface.messageBar().clear_messages()
    answer_next_dialog(QMessageBox.Yes)
    assert installer.remove_installed(folder) is True
    assert not folder.exists()
    assert not (tmp_path / "sounding_earth_deps-constraints.txt").exists()
    message = qgis_iface.messageBar().get_messages(Qgis.Success)[0]
    assert f"Removed {folder}" in message and "Restart QGIS" in message
    assert installer.remove_installed(folder) is False  # nothing left: says so


def test_plugin_menu_offers_remove_installed_packages(qgis_iface):
    plugin = SoundingEarthPlugin(qgis_iface)
    plugin.initGui()
    try:
        remove = [a for a in plugin.actions if a.text() == REMOVE_TEXT]
        assert len(remove) == 1
        assert remove[0] not in plugin.toolbar.actions()  # menu only
    finally:
        plugin.unload()
