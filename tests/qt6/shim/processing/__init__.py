"""A stand-in for QGIS's Processing framework: only what the plugin's widget wrapper needs."""
