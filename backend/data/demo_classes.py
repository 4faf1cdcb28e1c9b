"""The procedural demo's hidden land-cover classes and their colours."""

from __future__ import annotations

#: the hidden land-cover classes, in class-index order
SCENE_CLASSES: tuple[str, ...] = ("water", "forest", "farmland", "urban", "road", "beach")
#: a land-cover palette, one hex colour per class
CLASS_COLORS: dict[str, str] = {
    "water": "#2b7bba",
    "forest": "#1b7a3a",
    "farmland": "#e0c55b",
    "urban": "#d7301f",
    "road": "#5a5a5a",
    "beach": "#f5deb3",
}
