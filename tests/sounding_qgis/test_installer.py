"""The "Install dependencies" action: pip into the plugin's folder, in the background."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy
from qgis.core import Qgis

from backend.deps import REQUIRED_PACKAGES
from sounding_qgis.dependencies import constraints_text, install_command
from sounding_qgis.installer import DependencyInstaller, run_pip
from tests.sounding_qgis.helpers import make_wheel, wait_for_task


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
    # the constraint file beside the folder keeps QGIS's numpy
    constraints = (tmp_path / "deps-constraints.txt").read_text()
    assert f"numpy=={numpy.__version__}" in constraints
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

    class CancelAtOnce:
        def progress(self, fraction, message=""):
            pass

        def is_cancelled(self):
            return True

    command = [sys.executable, "-c", "import time; time.sleep(60)"]
    try:
        run_pip(command, CancelAtOnce())
    except Cancelled:
        pass
    else:
        raise AssertionError("run_pip did not stop")


def test_command_for_the_full_set_pins_everything_and_constrains_numpy(tmp_path: Path):
    target = tmp_path / "profile" / "python" / "sounding_earth_deps"
    names = list(REQUIRED_PACKAGES)
    command = install_command(names, target=target, python="/opt/qgis/bin/python3")
    assert command[:4] == ["/opt/qgis/bin/python3", "-m", "pip", "install"]
    assert command[command.index("--target") + 1] == str(target)
    for requirement in REQUIRED_PACKAGES.values():
        assert requirement in command
    assert f"numpy=={numpy.__version__}" in command
    assert "--upgrade" in command  # a second run repairs a broken folder
    constraints = Path(command[command.index("--constraint") + 1])
    assert constraints.is_file() and constraints.parent == target.parent
    text = constraints.read_text()
    assert f"numpy=={numpy.__version__}" in text
    assert "numpy<2" not in text  # QGIS's exact numpy, not the project's range
    assert "attrs>=24.1" in text  # the project's other constraints come along
    assert text == constraints_text()
