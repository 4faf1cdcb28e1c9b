"""``qgis.PyQt.QtGui``: PyQt6's QtGui (as in QGIS 4)."""

from PyQt6.QtGui import *  # noqa: F403
