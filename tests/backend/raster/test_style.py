"""QGIS styles written beside outputs."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from backend.raster.style import class_colours, class_qml, land_cover_colour, ramp_qml


def test_class_style_escapes_labels_and_lists_entries_in_class_order() -> None:
    root = ET.fromstring(class_qml(['a "quoted" & <odd> name', "b"], ["#FF0000", "00ff00"]))
    entries = root.findall("pipe/rasterrenderer/colorPalette/paletteEntry")
    assert [e.get("label") for e in entries] == ['a "quoted" & <odd> name', "b"]
    assert [e.get("color") for e in entries] == ["#ff0000", "#00ff00"]
    with pytest.raises(ValueError, match="colour"):
        class_qml(["a"], ["red"])


def test_ramp_style_spans_the_values() -> None:
    root = ET.fromstring(ramp_qml(-0.25, 0.75))
    shader = root.find("pipe/rasterrenderer/rastershader/colorrampshader")
    values = [float(i.get("value")) for i in shader.findall("item")]
    assert values[0] == -0.25 and values[-1] == 0.75 and values == sorted(values)
    assert root.find("pipe/rasterrenderer").get("classificationMax") == "0.75"


def test_classes_without_colours_get_distinct_ones() -> None:
    colours = class_colours(["a", "b", "c"], [])
    assert len(set(colours)) == 3
    assert class_colours(["a"], ["#123456"]) == ["#123456"]


@pytest.mark.parametrize(
    ("name", "colour"),
    [
        ("Water", "#2b7bba"),
        ("open_water", "#2b7bba"),
        ("LAKES", "#2b7bba"),
        ("Tree cover", "#1b7a3a"),
        ("Mixed forest", "#1b7a3a"),
        ("Built-up area", "#d7301f"),
        ("developed", "#d7301f"),
        ("Cropland", "#e0c55b"),
        ("Agriculture", "#e0c55b"),
        ("grassland", "#9ed36a"),
        ("Meadows", "#9ed36a"),
        ("bare soil", "#a0522d"),
        ("Wetland", "#4fb3a9"),
        ("Snow/Ice", "#f2f5f7"),
        ("shrubland", "#8f8f2f"),
        ("Sand", "#f5deb3"),
        ("roads", "#5a5a5a"),
    ],
)
def test_land_cover_names_get_their_customary_colours(name: str, colour: str) -> None:
    assert land_cover_colour(name) == colour


def test_other_names_match_nothing() -> None:
    assert land_cover_colour("Waterfront") is None
    assert land_cover_colour("class 7") is None


def test_class_colours_prefer_given_then_customary_then_palette() -> None:
    names = ["water", "forest", "mystery", "Forest plantation", "other"]
    colours = class_colours(names)
    assert colours[:2] == ["#2b7bba", "#1b7a3a"]
    # a second forest-like class and the unknown ones get distinct palette colours
    assert len(set(colours)) == 5
    # a layer's renderer (name -> colour) wins; the rest follow the rule
    given = class_colours(names, {"Water": "#0000FF", "mystery": "#123456"})
    assert given[:3] == ["#0000ff", "#1b7a3a", "#123456"]
    # a model file's list, with gaps
    assert class_colours(["a", "water"], ["#abcdef", None]) == ["#abcdef", "#2b7bba"]
    assert len(set(class_colours([f"c{i}" for i in range(30)]))) == 30
