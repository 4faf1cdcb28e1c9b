"""Sounding Earth QGIS plugin: entry point that QGIS calls.

Works the same from the repository (``backend`` is a sibling package) and from
the installed plugin ZIP (``backend`` is bundled inside this folder).
"""

from __future__ import annotations

import sys
from pathlib import Path

_PLUGIN_DIR = Path(__file__).resolve().parent


def _bundle_backend_on_path() -> None:
    """Make ``import backend`` find the copy bundled in the plugin ZIP."""
    if (_PLUGIN_DIR / "backend" / "__init__.py").is_file() and str(_PLUGIN_DIR) not in sys.path:
        sys.path.insert(0, str(_PLUGIN_DIR))


_bundle_backend_on_path()


def classFactory(iface):  # noqa: N802 (QGIS's required name)
    """Create the plugin for QGIS (called once per load)."""
    from sounding_qgis.dependencies import add_dependency_folder_to_path
    from sounding_qgis.i18n import install_translator

    install_translator()  # before any text is made: the toolbar, the Processing provider
    add_dependency_folder_to_path()
    from sounding_qgis.plugin import SoundingEarthPlugin

    return SoundingEarthPlugin(iface)
