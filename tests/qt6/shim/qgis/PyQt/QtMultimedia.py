"""``qgis.PyQt.QtMultimedia``: PyQt6's QtMultimedia (ImportError where its Qt libraries do not load)."""

from PyQt6.QtMultimedia import *  # noqa: F403
