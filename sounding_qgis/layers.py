"""QGIS objects to backend arguments and back: raster paths, extents, styled result layers.

Everything here converts; nothing computes. The backend receives file paths,
an ``Extent`` and a CRS string; it returns file paths and plain records, which
become styled layers here.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from qgis.core import (
    Qgis,
    QgsColorRampShader,
    QgsCoordinateReferenceSystem,
    QgsFeature,
    QgsField,
    QgsFields,
    QgsGeometry,
    QgsPalettedRasterRenderer,
    QgsPointXY,
    QgsProcessingLayerPostProcessorInterface,
    QgsProject,
    QgsProviderRegistry,
    QgsRasterLayer,
    QgsRectangle,
    QgsSingleBandPseudoColorRenderer,
    QgsStyle,
    QgsVectorLayer,
)
from qgis.PyQt.QtGui import QColor

from sounding_qgis.i18n import tr

#: colour ramp of soundscape (similarity) maps, from QGIS's default style
HEAT_RAMP = "Magma"
#: the CRS of recordings' points
LONLAT = "EPSG:4326"


class LayerSourceError(ValueError):
    """A layer the backend cannot read (not a local file GDAL opens)."""


# --------------------------------------------------------------------------- inputs


def raster_path(layer: QgsRasterLayer) -> str:
    """The file (or GDAL dataset string) behind a raster layer.

    Raises:
        LayerSourceError: The layer is not a GDAL raster (e.g. WMS or XYZ tiles).
    """
    if layer is None or not layer.isValid():
        raise LayerSourceError(tr("choose a valid raster layer"))
    if layer.providerType() != "gdal":
        raise LayerSourceError(
            tr(
                "layer {layer} is served by {provider}, not read from a "
                "file; save it as a GeoTIFF first (Export > Save As…)"
            ).format(layer=repr(layer.name()), provider=repr(layer.providerType()))
        )
    parts = QgsProviderRegistry.instance().decodeUri("gdal", layer.source())
    return parts.get("path") or layer.source()


def crs_text(crs: QgsCoordinateReferenceSystem) -> str | None:
    """A CRS the backend (rasterio) reads: the authority id when there is one, else WKT."""
    if crs is None or not crs.isValid():
        return None
    authid = crs.authid()
    if authid and authid.upper().startswith("EPSG:"):
        return authid
    return crs.toWkt(QgsCoordinateReferenceSystem.WKT_PREFERRED)


def backend_extent(rectangle: QgsRectangle):
    """A ``backend.raster.grid.Extent`` of ``rectangle`` (None for an empty one)."""
    from backend.raster.grid import Extent

    if rectangle is None or rectangle.isEmpty() or rectangle.isNull():
        return None
    return Extent(
        rectangle.xMinimum(), rectangle.yMinimum(), rectangle.xMaximum(), rectangle.yMaximum()
    )


def map_view_extent(canvas) -> tuple[object | None, str | None]:
    """What a map canvas shows, for the backend: its extent (None when empty) and CRS."""
    return backend_extent(canvas.extent()), crs_text(canvas.mapSettings().destinationCrs())


# --------------------------------------------------------------------------- styles


def class_renderer(layer: QgsRasterLayer, names: Sequence[str], colours: Sequence[str]):
    """A paletted renderer: value ``i`` drawn in ``colours[i]`` and labelled ``names[i]``."""
    classes = [
        QgsPalettedRasterRenderer.Class(i, QColor(colour), name)
        for i, (name, colour) in enumerate(zip(names, colours, strict=True))
    ]
    return QgsPalettedRasterRenderer(layer.dataProvider(), 1, classes)


def apply_class_style(layer: QgsRasterLayer, names: Sequence[str], colours: Sequence[str]) -> None:
    """Draw a class raster in its classes' colours, with their names in the legend."""
    layer.setRenderer(class_renderer(layer, names, colours))
    layer.triggerRepaint()


def apply_ramp_style(
    layer: QgsRasterLayer, minimum: float, maximum: float, ramp_name: str = HEAT_RAMP
) -> None:
    """Draw band 1 with a continuous colour ramp from ``minimum`` to ``maximum``."""
    ramp = QgsStyle.defaultStyle().colorRamp(ramp_name)
    if not (maximum > minimum):
        minimum, maximum = minimum - 0.5, minimum + 0.5
    renderer = QgsSingleBandPseudoColorRenderer(layer.dataProvider(), 1)
    renderer.setClassificationMin(minimum)
    renderer.setClassificationMax(maximum)
    renderer.createShader(ramp, QgsColorRampShader.Interpolated, QgsColorRampShader.Continuous, 5)
    layer.setRenderer(renderer)
    layer.triggerRepaint()


def open_raster_layer(path: str | os.PathLike, name: str) -> QgsRasterLayer:
    """A raster layer of ``path``.

    Raises:
        LayerSourceError: QGIS cannot open it.
    """
    layer = QgsRasterLayer(str(path), name, "gdal")
    if not layer.isValid():
        raise LayerSourceError(tr("QGIS cannot open {path}").format(path=path))
    return layer


def add_class_layer(
    path: str | os.PathLike,
    names: Sequence[str],
    colours: Sequence[str],
    name: str,
    project: QgsProject | None = None,
) -> QgsRasterLayer:
    """Add a class raster to the project, styled with a paletted renderer."""
    layer = open_raster_layer(path, name)
    apply_class_style(layer, names, colours)
    (project or QgsProject.instance()).addMapLayer(layer)
    return layer


# (shaped like add_class_layer: open, style, add; the two styles take different inputs)
def add_heat_layer(
    path: str | os.PathLike,
    minimum: float,
    maximum: float,
    name: str,
    project: QgsProject | None = None,
) -> QgsRasterLayer:
    """Add a similarity raster to the project, styled with :data:`HEAT_RAMP`."""
    layer = open_raster_layer(path, name)
    apply_ramp_style(layer, minimum, maximum)
    (project or QgsProject.instance()).addMapLayer(layer)
    return layer


class ClassStylePostProcessor(QgsProcessingLayerPostProcessorInterface):
    """Styles a class raster that Processing loads when the algorithm has finished."""

    def __init__(self, names: Sequence[str], colours: Sequence[str]) -> None:
        super().__init__()
        self.names, self.colours = list(names), list(colours)

    def postProcessLayer(self, layer, context, feedback) -> None:  # noqa: N802, D102
        if isinstance(layer, QgsRasterLayer):
            apply_class_style(layer, self.names, self.colours)


class RampStylePostProcessor(QgsProcessingLayerPostProcessorInterface):
    """Styles a similarity raster that Processing loads when the algorithm has finished."""

    def __init__(self, minimum: float, maximum: float) -> None:
        super().__init__()
        self.minimum, self.maximum = minimum, maximum

    def postProcessLayer(self, layer, context, feedback) -> None:  # noqa: N802, D102
        if isinstance(layer, QgsRasterLayer):
            apply_ramp_style(layer, self.minimum, self.maximum)


#: Processing keeps only a pointer to a post-processor: the Python objects live here
_POST_PROCESSORS: list[QgsProcessingLayerPostProcessorInterface] = []


def style_on_load(context, path: str, post_processor) -> None:
    """Have Processing apply ``post_processor`` to the layer of ``path`` it loads at the end."""
    if context.willLoadLayerOnCompletion(path):
        _POST_PROCESSORS.append(post_processor)
        del _POST_PROCESSORS[:-32]
        context.layerToLoadOnCompletionDetails(path).setPostProcessor(post_processor)


# --------------------------------------------------------------------------- recordings

#: QGIS from which ``QgsField`` takes a ``QMetaType.Type`` (QGIS 4 takes nothing else)
QMETATYPE_FIELDS_FROM = 33800


def field_type(name: str):
    """The ``QgsField`` type called ``name`` (``Int``, ``LongLong``, ``Double``, ``String``).

    QGIS 3.38 and later take a ``QMetaType.Type`` (under Qt 6, in QGIS 4, ``QVariant``
    has no types any more); older QGIS a ``QVariant.Type``.
    """
    if Qgis.QGIS_VERSION_INT >= QMETATYPE_FIELDS_FROM:
        from qgis.PyQt.QtCore import QMetaType

        return getattr(QMetaType.Type, "QString" if name == "String" else name)
    from qgis.PyQt.QtCore import QVariant  # qt5-only (QGIS < 3.38)

    return getattr(QVariant, name)


def make_fields(spec: Iterable[tuple[str, str]]) -> QgsFields:
    """``QgsFields`` from ``(field name, type name)`` pairs (type names of :func:`field_type`)."""
    fields = QgsFields()
    for name, kind in spec:
        fields.append(QgsField(name, field_type(kind)))
    return fields


#: attribute fields of a recordings point layer: (name, type name of :func:`field_type`)
RECORDING_FIELDS: tuple[tuple[str, str], ...] = (
    ("rank", "Int"),
    ("similarity", "Double"),
    ("key", "LongLong"),
    ("title", "String"),
    ("creator", "String"),
    ("licence", "String"),
    ("file", "String"),
    ("longitude", "Double"),
    ("latitude", "Double"),
    ("distance_km", "Double"),
)


def recording_fields() -> QgsFields:
    """The fields of a recordings point layer (those of ``backend.index.SoundMatch``)."""
    return make_fields(RECORDING_FIELDS)


def recording_feature(match, fields: QgsFields) -> QgsFeature:
    """A point feature (longitude/latitude) of one ``SoundMatch``-like record."""
    feature = QgsFeature(fields)
    for name, _kind in RECORDING_FIELDS:
        value = getattr(match, name, None)
        feature.setAttribute(name, value)
    feature.setGeometry(
        QgsGeometry.fromPointXY(QgsPointXY(float(match.longitude), float(match.latitude)))
    )
    return feature


def recordings_layer(matches: Iterable, name: str) -> QgsVectorLayer:
    """A memory point layer (EPSG:4326) holding ``matches``."""
    layer = QgsVectorLayer(f"Point?crs={LONLAT}", name, "memory")
    provider = layer.dataProvider()
    provider.addAttributes(recording_fields().toList())
    layer.updateFields()
    provider.addFeatures([recording_feature(m, layer.fields()) for m in matches])
    layer.updateExtents()
    return layer


def temporary_output(suffix: str = ".tif", stem: str = "sounding") -> Path:
    """A new path in QGIS's temporary processing folder (for "temporary" outputs)."""
    import uuid

    from qgis.core import QgsProcessingUtils

    folder = Path(QgsProcessingUtils.tempFolder())
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{stem}_{uuid.uuid4().hex[:8]}{suffix}"
