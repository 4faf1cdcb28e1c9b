"""Every widget of the plugin, built and used under PyQt6 (Qt 6, as in QGIS 4).

QGIS 4 is not packaged for Debian, so this runs tests/qt6/drive_widgets.py in the PyQt6
venv ``make setup`` makes: real PyQt6 6.11 widgets, offscreen; the few QGIS classes
they use are stand-ins (tests/qt6/shim). The model files and the recording are real,
made here by the backend.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.qt6_env import qt6_python
from tests.shared_files import share

ROOT = Path(__file__).resolve().parents[2]
DRIVER = ROOT / "tests" / "qt6" / "drive_widgets.py"
CHECKS = [
    "profile_paths",
    "model_chooser",
    "classify_dialog",
    "soundscape_dialog",
    "sounds_here_dock",
    "sound_player",
    "installer_confirmation",
    "installer_progress_and_failure",
    "installer_remove_folder",
    "models_dialog",
    "labels_dialog_widgets",
    "plugin_toolbar_menu_and_dock",
]


def test_every_widget_works_under_pyqt6(workspace, tmp_path: Path):
    python = qt6_python()
    models = tmp_path / "models"
    models.mkdir()
    classifier = share(workspace.classifier, models / "classifier.safetensors")
    audiovisual = share(workspace.audiovisual, models / "audiovisual.safetensors")
    (tmp_path / "work").mkdir()
    (tmp_path / "profile").mkdir()
    inputs = tmp_path / "inputs.json"
    inputs.write_text(
        json.dumps(
            {
                "work": str(tmp_path / "work"),
                "classifier": str(classifier),
                "audiovisual": str(audiovisual),
                "recording": str(workspace.recordings[0]),
            }
        ),
        encoding="utf-8",
    )
    # a clean environment: nothing of this process's Qt 5 / QGIS set-up leaks in
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "QT_QPA_PLATFORM": "offscreen",
        "SOUNDING_EARTH_MODELS": str(models),
        "SOUNDING_EARTH_DEMO_OUTPUT": str(tmp_path / "no-demo"),
        "SOUNDING_QT6_SETTINGS": str(tmp_path / "settings.ini"),
        "SOUNDING_QT6_PROFILE": str(tmp_path / "profile"),
        "PIP_NO_INDEX": "1",
    }
    result = subprocess.run(
        [str(python), str(DRIVER), str(inputs)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["qt"].startswith("6.") and summary["pyqt"].startswith("6.")
    assert summary["platform"] == "offscreen"
    assert summary["checks"] == CHECKS
