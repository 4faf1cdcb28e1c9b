"""``qgis.PyQt.QtWidgets``: PyQt6's QtWidgets, plus the classes Qt 6 moved to QtGui.

QGIS keeps QAction, QActionGroup and QShortcut importable from ``qgis.PyQt.QtWidgets``
under Qt 6 (qgis/QGIS pull requests 55658 and 57467); this does the same.
"""

from PyQt6.QtGui import QAction, QActionGroup, QShortcut  # noqa: F401
from PyQt6.QtWidgets import *  # noqa: F403
