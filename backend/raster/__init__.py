"""Tiled, streaming inference over GDAL rasters: classify, embed and map where a sound belongs.

Every command reads the raster in strips on a tile grid (``grid``), runs the
model on batches of tiles while the next strip is read (``engine``), and writes
tiled, compressed GeoTIFFs under a temporary name (``job``), styled for QGIS
(``style``).
"""
