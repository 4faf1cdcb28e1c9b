"""QGIS layer styles (.qml) written beside output rasters, so they open styled in QGIS.

QGIS loads ``NAME.qml`` automatically as the default style of ``NAME.tif``.
Two renderers are written: a paletted one for class rasters (colour and label
per class) and a single-band pseudocolour ramp for continuous maps (similarity).
"""

from __future__ import annotations

import colorsys
from collections.abc import Mapping, Sequence
from xml.sax.saxutils import quoteattr

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


#: customary colours of land-cover classes, with the words that name them (matched on
#: whole words of the lower-cased class name, singular or plural; first match wins)
LAND_COVER_COLOURS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "#2b7bba",
        (
            "water",
            "waters",
            "river",
            "rivers",
            "lake",
            "lakes",
            "sea",
            "ocean",
            "reservoir",
            "pond",
            "canal",
            "open water",
            "waterbody",
            "water body",
        ),
    ),
    (
        "#4fb3a9",
        (
            "wetland",
            "wetlands",
            "marsh",
            "swamp",
            "bog",
            "mangrove",
            "mangroves",
            "peatland",
            "fen",
        ),
    ),
    ("#f2f5f7", ("snow", "ice", "glacier", "glaciers", "snow/ice", "permanent snow")),
    ("#f5deb3", ("sand", "beach", "beaches", "dune", "dunes")),
    (
        "#5a5a5a",
        (
            "road",
            "roads",
            "street",
            "streets",
            "highway",
            "motorway",
            "railway",
            "parking",
            "paved",
            "impervious",
            "asphalt",
        ),
    ),
    (
        "#d7301f",
        (
            "urban",
            "built",
            "built-up",
            "builtup",
            "building",
            "buildings",
            "developed",
            "settlement",
            "settlements",
            "residential",
            "city",
            "industrial",
            "commercial",
            "artificial",
            "artificial surfaces",
        ),
    ),
    (
        "#1b7a3a",
        (
            "forest",
            "forests",
            "tree",
            "trees",
            "woodland",
            "woodlands",
            "wood",
            "woods",
            "tree cover",
            "broadleaf",
            "coniferous",
            "deciduous",
            "evergreen",
            "mixed forest",
            "plantation",
        ),
    ),
    (
        "#8f8f2f",
        ("shrub", "shrubs", "shrubland", "scrub", "bush", "bushes", "heath", "shrub/scrub"),
    ),
    (
        "#e0c55b",
        (
            "crop",
            "crops",
            "cropland",
            "croplands",
            "cultivated",
            "farmland",
            "farm",
            "agriculture",
            "agricultural",
            "arable",
            "field",
            "fields",
            "orchard",
            "vineyard",
            "rice",
            "cereal",
            "cereals",
        ),
    ),
    (
        "#9ed36a",
        (
            "grass",
            "grassland",
            "grasslands",
            "meadow",
            "meadows",
            "pasture",
            "pastures",
            "herbaceous",
            "lawn",
            "prairie",
            "steppe",
            "rangeland",
            "savanna",
            "hay",
        ),
    ),
    (
        "#a0522d",
        (
            "bare",
            "barren",
            "bare soil",
            "soil",
            "bare ground",
            "bare land",
            "bareland",
            "rock",
            "rocks",
            "quarry",
            "mine",
            "desert",
            "sparse",
            "sparse vegetation",
        ),
    ),
    ("#c9a2c8", ("cloud", "clouds", "shadow", "shadows", "cloud shadow")),
)

#: distinct colours for the other classes (Tableau 10, then golden-angle hues)
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


def _words(name: str) -> list[str]:
    """Lower-cased words and word pairs of a class name (``"Tree_cover"`` -> tree, cover, ...)."""
    cleaned = "".join(c if c.isalnum() or c in "/-" else " " for c in name.lower())
    words = cleaned.split()
    # the whole name, word pairs, then single words (and the parts of "snow/ice", "built-up")
    parts = [" ".join(words)]
    parts += [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]
    for word in words:
        parts.append(word)
        parts += [p for p in word.replace("/", "-").split("-") if p and p != word]
    return parts


def land_cover_colour(name: str) -> str | None:
    """The customary colour of a land-cover class name (water blue, forest green...), or None.

    Case-insensitive, on whole words: "Water", "open_water", "Lakes", "Tree cover",
    "Built-up area", "Cropland", "bare soil" all match; "Waterfront" and "Classroom"
    match nothing.
    """
    parts = _words(str(name))
    for part in parts:
        for colour, synonyms in LAND_COVER_COLOURS:
            if part in synonyms:
                return colour
    return None


def _palette_colour(i: int) -> str:
    if i < len(_FALLBACK_COLOURS):
        return _FALLBACK_COLOURS[i]
    r, g, b = colorsys.hsv_to_rgb((i * 0.618033988749895) % 1.0, 0.65, 0.85)
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


def class_colours(
    class_names: Sequence[str],
    given: Sequence[str | None] | Mapping[str, str] | None = None,
) -> list[str]:
    """One colour per class: given colours first, then land-cover customs, then a palette.

    Args:
        class_names: The classes, in output order.
        given: Colours already chosen (a model file's ``class_colors``, a layer's
            categorised renderer): a list in class order (``None`` or ``""`` where a
            class has none) or a ``{class name: colour}`` mapping.

    Returns:
        ``"#rrggbb"`` per class. Classes without a given colour get their customary
        land-cover colour (:func:`land_cover_colour`) unless another class already
        uses it, else the next unused colour of a qualitative palette.
    """
    names = [str(n) for n in class_names]
    if isinstance(given, Mapping):
        lowered = {str(k).lower(): v for k, v in given.items()}
        chosen: list[str | None] = [given.get(n) or lowered.get(n.lower()) for n in names]
    elif given and len(given) == len(names):
        chosen = list(given)
    else:
        chosen = [None] * len(names)
    colours: list[str | None] = [_hex(c) if c else None for c in chosen]
    used = {c for c in colours if c}
    for i, name in enumerate(names):
        if colours[i] is None:
            custom = land_cover_colour(name)
            if custom and custom not in used:
                colours[i] = custom
                used.add(custom)
    k = 0
    for i in range(len(names)):
        if colours[i] is None:
            while _palette_colour(k) in used:
                k += 1
            colours[i] = _palette_colour(k)
            used.add(colours[i])
    return [c for c in colours if c]


def hex_to_rgba(colour: str) -> tuple[int, int, int, int]:
    """``"#rrggbb"`` → ``(r, g, b, 255)``."""
    value = _hex(colour)
    return int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16), 255
