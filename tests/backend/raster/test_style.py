"""QGIS styles written beside outputs."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from backend.raster.style import class_colours, class_qml, ramp_qml


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
