"""Draws Alicia's mark (a sound wave in a blue disc) as the brand and add-on images.

python scripts/brand_images.py  # rewrites custom_components/alicia/brand/*.png and addon/alicia/{icon,logo}.png
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
BLUE = (33, 150, 243, 255)
WHITE = (255, 255, 255, 255)
# Bar heights, as fractions of the disc's diameter, left to right.
BARS = (0.18, 0.36, 0.56, 0.36, 0.18)
OVERSAMPLE = 4


def mark(size: int) -> Image.Image:
    """The mark on a transparent square of size pixels."""
    big = size * OVERSAMPLE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    margin = big * 0.04
    draw.ellipse((margin, margin, big - margin, big - margin), fill=BLUE)
    width = big * 0.065
    step = big * 0.125
    for index, height in enumerate(BARS):
        x = big / 2 + (index - 2) * step
        half = big * height / 2
        draw.rounded_rectangle(
            (x - width / 2, big / 2 - half, x + width / 2, big / 2 + half),
            radius=width / 2,
            fill=WHITE,
        )
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    """Write every image HA, HACS and the Supervisor look for."""
    brand = ROOT / "custom_components/alicia/brand"
    brand.mkdir(exist_ok=True)
    for name, size in (
        ("icon.png", 256),
        ("icon@2x.png", 512),
        ("logo.png", 256),
        ("logo@2x.png", 512),
    ):
        mark(size).save(brand / name, optimize=True)
    addon = ROOT / "addon/alicia"
    mark(128).save(addon / "icon.png", optimize=True)
    mark(250).save(addon / "logo.png", optimize=True)


if __name__ == "__main__":
    main()
