"""The plugin's widgets under PyQt6: a small ``qgis`` stand-in (shim/) and the driver script."""
