"""Remembered choices (QgsSettings) and the default model files of the plugin."""

from __future__ import annotations

import os
from pathlib import Path

from qgis.core import QgsSettings

#: the file in which ``make demo`` records its output folder (backend.demo.pipeline)
DEMO_POINTER = (
    Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    / "sounding-earth"
    / "demo-output.txt"
)


def demo_output() -> Path:
    """Where ``make demo`` wrote its models: the default of every model and index setting.

    SOUNDING_EARTH_DEMO_OUTPUT if set; else ``demo-output/`` beside the plugin when it
    runs from the repository; else the folder the last full demo recorded in
    :data:`DEMO_POINTER` (so a plugin installed from the ZIP finds it too).
    """
    explicit = os.environ.get("SOUNDING_EARTH_DEMO_OUTPUT")
    if explicit:
        return Path(explicit)
    beside = Path(__file__).resolve().parent.parent / "demo-output"
    if beside.is_dir():
        return beside
    try:
        recorded = Path(DEMO_POINTER.read_text(encoding="utf-8").strip())
    except OSError:
        return beside
    return recorded if recorded.is_dir() else beside


DEMO_OUTPUT = demo_output()

SETTINGS_GROUP = "sounding_earth"
#: setting key -> default path (inside DEMO_OUTPUT)
DEFAULT_PATHS: dict[str, Path] = {
    "classifier_model": DEMO_OUTPUT / "classifier.safetensors",
    "audiovisual_model": DEMO_OUTPUT / "pretrain" / "model.safetensors",
    "sound_index": DEMO_OUTPUT / "index",
}


def remembered_path(key: str) -> str:
    """The path last used for ``key``, else its default under :data:`DEMO_OUTPUT`."""
    value = QgsSettings().value(f"{SETTINGS_GROUP}/{key}", "", type=str)
    if value:
        return value
    default = DEFAULT_PATHS.get(key)
    return str(default) if default is not None else ""


def remember_path(key: str, value: str | os.PathLike) -> None:
    """Store ``value`` as the path to offer next time for ``key``."""
    QgsSettings().setValue(f"{SETTINGS_GROUP}/{key}", str(value))


def remembered_value(key: str, default: str = "") -> str:
    """Any other remembered text value."""
    return QgsSettings().value(f"{SETTINGS_GROUP}/{key}", default, type=str)


def remember_value(key: str, value: str) -> None:
    """Store a text value."""
    QgsSettings().setValue(f"{SETTINGS_GROUP}/{key}", value)
