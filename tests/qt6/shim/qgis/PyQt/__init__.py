"""``qgis.PyQt`` as QGIS 4 provides it: PyQt6's modules under QGIS's names."""
