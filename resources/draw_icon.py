"""Draws resources/icon.png (the plugin icon): a globe with sound waves.

Run once with ``python resources/draw_icon.py``; the PNG is committed.
"""

from pathlib import Path

from PIL import Image, ImageDraw

SIZE = 256


def draw_icon(path: Path) -> None:
    """Render the icon at 4x and downsample for smooth edges."""
    scale = 4
    s = SIZE * scale
    image = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    cx, cy, r = int(s * 0.40), s // 2, int(s * 0.30)
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(38, 110, 170, 255))
    # land masses
    draw.ellipse((cx - r * 0.7, cy - r * 0.6, cx + r * 0.1, cy + r * 0.2), fill=(86, 160, 80, 255))
    draw.ellipse((cx - r * 0.1, cy + r * 0.1, cx + r * 0.6, cy + r * 0.7), fill=(86, 160, 80, 255))
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=(20, 60, 100, 255), width=6 * scale)
    # sound waves
    for i, radius in enumerate((0.45, 0.62, 0.79)):
        rr = int(s * radius)
        draw.arc(
            (cx - rr, cy - rr, cx + rr, cy + rr),
            start=-40,
            end=40,
            fill=(240, 150, 40, 255 - 50 * i),
            width=10 * scale,
        )
    image.resize((SIZE, SIZE), Image.LANCZOS).save(path)


if __name__ == "__main__":
    draw_icon(Path(__file__).resolve().parent / "icon.png")
