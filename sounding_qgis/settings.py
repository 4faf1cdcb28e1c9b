"""Remembered choices (QgsSettings) and the default model files of the plugin."""

from __future__ import annotations

import os
from pathlib import Path

from qgis.core import QgsSettings

#: where ``make demo`` writes its models; the default of every model and index setting.
#: SOUNDING_EARTH_DEMO_OUTPUT points it elsewhere (e.g. for an installed plugin).
DEMO_OUTPUT = Path(
    os.environ.get(
        "SOUNDING_EARTH_DEMO_OUTPUT", Path(__file__).resolve().parent.parent / "demo-output"
    )
)

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
