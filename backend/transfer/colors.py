"""Class colours of a classifier: defaults for class names, and the ``--colors`` option."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path


def parse_hex_color(text: str) -> str:
    """``"#AbC123"`` or ``"abc123"`` -> ``"#abc123"``.

    Raises:
        ValueError: Not six hex digits.
    """
    value = text.strip().lower().removeprefix("#")
    if len(value) != 6 or any(c not in "0123456789abcdef" for c in value):
        raise ValueError(f"{text!r} is not a colour like #1f77b4")
    return "#" + value


def default_class_colors(class_names: Sequence[str]) -> list[str]:
    """Customary land-cover colours by class name (water blue, forest green...), else a palette.

    The one colour rule of the project: :func:`backend.raster.style.class_colours`.
    """
    from backend.raster.style import class_colours

    return class_colours(class_names)


def parse_class_colors(text: str | None, class_names: Sequence[str]) -> list[str]:
    """Class colours from ``--colors``, starting from :func:`default_class_colors`.

    ``text`` is a comma-separated list of ``#rrggbb`` (in class order) or of
    ``name=#rrggbb`` (only those classes), or a JSON file holding either a list or
    a ``{name: colour}`` object.

    Raises:
        ValueError: Bad colours, unknown class names or too many colours.
    """
    colors = default_class_colors(class_names)
    if not text:
        return colors
    items: list[str] | dict[str, str]
    candidate = Path(text).expanduser()
    if text.strip().endswith(".json") or candidate.is_file():
        if not candidate.is_file():
            raise FileNotFoundError(f"--colors {text}: file not found")
        items = json.loads(candidate.read_text(encoding="utf-8"))
    else:
        parts = [p.strip() for p in text.split(",") if p.strip()]
        if all("=" in p for p in parts):
            items = dict(tuple(s.strip() for s in p.split("=", 1)) for p in parts)
        else:
            items = parts
    if isinstance(items, dict):
        index = {name: i for i, name in enumerate(class_names)}
        unknown = sorted(set(items) - set(index))
        if unknown:
            raise ValueError(
                f"--colors: unknown class names {unknown}; the classes are {list(class_names)}"
            )
        for name, colour in items.items():
            colors[index[name]] = parse_hex_color(str(colour))
    elif isinstance(items, list):
        if len(items) > len(class_names):
            raise ValueError(f"--colors: {len(items)} colours for {len(class_names)} classes")
        for i, colour in enumerate(items):
            colors[i] = parse_hex_color(str(colour))
    else:
        raise ValueError("--colors: expected a list of colours or {class: colour}")
    return colors
