"""QGIS layer styles (.qml) written beside output rasters, so they open styled in QGIS.

QGIS loads ``NAME.qml`` automatically as the default style of ``NAME.tif``.
Two renderers are written: a paletted one for class rasters (colour and label
per class) and a single-band pseudocolour ramp for continuous maps (similarity).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from xml.sax.saxutils import quoteattr

from backend.atomic import atomic_write_text

#: a perceptually uniform ramp (viridis), low to high
VIRIDIS: tuple[str, ...] = ("#440154", "#3b528b", "#21918c", "#5ec962", "#fde725")

_HEADER = (
    "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
    '<qgis version="3.22.0" styleCategories="AllStyleCategories" '
    'hasScaleBasedVisibilityFlag="0" minScale="1e+08" maxScale="0">\n'
)
_MINMAX = (
    "      <minMaxOrigin>\n"
    "        <limits>None</limits>\n"
    "        <extent>WholeRaster</extent>\n"
    "        <statAccuracy>Estimated</statAccuracy>\n"
    "        <cumulativeCutLower>0.02</cumulativeCutLower>\n"
    "        <cumulativeCutUpper>0.98</cumulativeCutUpper>\n"
    "        <stdDevFactor>2</stdDevFactor>\n"
    "      </minMaxOrigin>\n"
)
_FOOTER = (
    '    <brightnesscontrast brightness="0" contrast="0" gamma="1"/>\n'
    '    <huesaturation saturation="0" grayscaleMode="0" colorizeOn="0" '
    'colorizeRed="255" colorizeGreen="128" colorizeBlue="128" colorizeStrength="100"/>\n'
    '    <rasterresampler maxOversampling="2"/>\n'
    "  </pipe>\n"
    "  <blendMode>0</blendMode>\n"
    "</qgis>\n"
)


def _hex(colour: str) -> str:
    value = colour.strip().lstrip("#")
    if len(value) != 6 or any(c not in "0123456789abcdefABCDEF" for c in value):
        raise ValueError(f"expected a colour like #1b7a3a, got {colour!r}")
    return "#" + value.lower()


def _rgba(colour: str) -> str:
    value = _hex(colour)
    return f"{int(value[1:3], 16)},{int(value[3:5], 16)},{int(value[5:7], 16)},255"


def class_qml(class_names: Sequence[str], class_colors: Sequence[str], band: int = 1) -> str:
    """A paletted-renderer style: one entry (value, colour, label) per class."""
    if len(class_colors) != len(class_names):
        raise ValueError(f"{len(class_colors)} colours for {len(class_names)} classes")
    entries = "".join(
        f'        <paletteEntry value="{i}" color="{_hex(colour)}" alpha="255" '
        f"label={quoteattr(str(name))}/>\n"
        for i, (name, colour) in enumerate(zip(class_names, class_colors, strict=True))
    )
    return (
        _HEADER + "  <pipe>\n"
        f'    <rasterrenderer type="paletted" band="{band}" opacity="1" alphaBand="-1" '
        'nodataColor="">\n'
        "      <rasterTransparency/>\n" + _MINMAX + "      <colorPalette>\n"
        f"{entries}"
        "      </colorPalette>\n"
        "    </rasterrenderer>\n" + _FOOTER
    )


def ramp_qml(
    minimum: float,
    maximum: float,
    colours: Sequence[str] = VIRIDIS,
    band: int = 1,
    label_precision: int = 3,
) -> str:
    """A single-band pseudocolour style: ``colours`` spread evenly from ``minimum`` to ``maximum``."""
    if len(colours) < 2:
        raise ValueError("a colour ramp needs at least two colours")
    if not maximum > minimum:
        maximum = minimum + 1e-6
    steps = len(colours) - 1
    values = [minimum + (maximum - minimum) * k / steps for k in range(len(colours))]
    items = "".join(
        f'          <item value="{v:.9g}" color="{_hex(c)}" alpha="255" '
        f'label="{v:.{label_precision}f}"/>\n'
        for v, c in zip(values, colours, strict=True)
    )
    stops = ":".join(f"{k / steps:.6g};{_rgba(c)}" for k, c in enumerate(colours[1:-1], start=1))
    return (
        _HEADER + "  <pipe>\n"
        f'    <rasterrenderer type="singlebandpseudocolor" band="{band}" opacity="1" '
        f'alphaBand="-1" classificationMin="{minimum:.9g}" classificationMax="{maximum:.9g}" '
        'nodataColor="">\n'
        "      <rasterTransparency/>\n" + _MINMAX + "      <rastershader>\n"
        f'        <colorrampshader colorRampType="INTERPOLATED" classificationMode="2" '
        f'clip="0" minimumValue="{minimum:.9g}" maximumValue="{maximum:.9g}" '
        f'labelPrecision="{label_precision}">\n'
        '          <colorramp type="gradient" name="[source]">\n'
        f'            <prop k="color1" v="{_rgba(colours[0])}"/>\n'
        f'            <prop k="color2" v="{_rgba(colours[-1])}"/>\n'
        '            <prop k="discrete" v="0"/>\n'
        '            <prop k="rampType" v="gradient"/>\n'
        f'            <prop k="stops" v="{stops}"/>\n'
        "          </colorramp>\n"
        f"{items}"
        "        </colorrampshader>\n"
        "      </rastershader>\n"
        "    </rasterrenderer>\n" + _FOOTER
    )


def write_class_qml(
    path: str | os.PathLike, class_names: Sequence[str], class_colors: Sequence[str]
) -> None:
    """Write :func:`class_qml` to ``path`` atomically."""
    atomic_write_text(path, class_qml(class_names, class_colors))


def write_ramp_qml(path: str | os.PathLike, minimum: float, maximum: float) -> None:
    """Write :func:`ramp_qml` to ``path`` atomically."""
    atomic_write_text(path, ramp_qml(minimum, maximum))


#: distinct colours for classes whose model file names none (Tableau 10)
_FALLBACK_COLOURS = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)


def class_colours(class_names: Sequence[str], class_colors: Sequence[str] | None) -> list[str]:
    """The model's class colours, or a distinct fallback palette when it has none."""
    if class_colors and len(class_colors) == len(class_names):
        return [_hex(c) for c in class_colors]
    return [_FALLBACK_COLOURS[i % len(_FALLBACK_COLOURS)] for i in range(len(class_names))]


def hex_to_rgba(colour: str) -> tuple[int, int, int, int]:
    """``"#rrggbb"`` → ``(r, g, b, 255)``."""
    value = _hex(colour)
    return int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16), 255
