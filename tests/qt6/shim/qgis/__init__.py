"""A stand-in for QGIS 4's ``qgis`` package, for the widget checks under PyQt6 only.

No QGIS 4 build is packaged for Debian, and Debian 12's QGIS 3.22 is built with Qt 5,
so the plugin's widget modules are imported here on PyQt6 itself: ``qgis.PyQt`` maps
to PyQt6 as QGIS 4's own ``qgis.PyQt`` does, and ``qgis.core`` / ``qgis.gui`` hold
small stand-ins for the few QGIS classes the widgets use. Everything Qt is real
PyQt6 6.11; everything QGIS is a stand-in (tests/qt6/shim/qgis/core.py and gui.py
say what each one does).
"""
