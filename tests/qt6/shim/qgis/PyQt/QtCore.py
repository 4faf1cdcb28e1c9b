"""``qgis.PyQt.QtCore``: PyQt6's QtCore (as in QGIS 4)."""

from PyQt6.QtCore import *  # noqa: F403
