"""Tenant colours as Pico CSS custom properties, with readable contrast guaranteed."""

from __future__ import annotations

import re

WHITE, BLACK = "#ffffff", "#000000"
MIN_TEXT_CONTRAST = 4.5  # WCAG AA for body text
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")


def is_color(value) -> bool:
    """The one rule for a tenant's colour, on the Settings page and in tenant files alike:
    `#rrggbb`, a hash and exactly six hexadecimal digits, in either case (stored in lower
    case), with nothing around it (no spaces, no trailing line break).

    The short form `#rgb` is refused: a browser's colour input never sends it, and every
    function here reads six digits.
    """
    return isinstance(value, str) and _COLOR.fullmatch(value) is not None


def _rgb(color: str) -> tuple[int, int, int]:
    color = color.lstrip("#")
    return int(color[0:2], 16), int(color[2:4], 16), int(color[4:6], 16)


def _hex(rgb) -> str:
    return "#" + "".join(f"{max(0, min(255, round(c))):02x}" for c in rgb)


def luminance(color: str) -> float:
    def channel(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in _rgb(color))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def mix(color: str, other: str, amount: float) -> str:
    """`amount` (0..1) of `other` mixed into `color`."""
    a, b = _rgb(color), _rgb(other)
    return _hex([x + (y - x) * amount for x, y in zip(a, b, strict=True)])


def readable_on_white(color: str) -> str:
    """The colour, darkened just enough for text on a white page."""
    result, step = color, 0
    while contrast(result, WHITE) < MIN_TEXT_CONTRAST and step < 20:
        step += 1
        result = mix(color, BLACK, step * 0.05)
    return result


def text_on(color: str) -> str:
    """White or black, whichever reads better on `color`."""
    return WHITE if contrast(color, WHITE) >= contrast(color, BLACK) else BLACK


def brand_contrast(primary: str, accent: str | None) -> dict[str, float]:
    """Contrast ratios the theme will have: button text on each colour, links on white."""
    ratios = {
        "primary_text": contrast(primary, text_on(primary)),
        "links": contrast(readable_on_white(primary), WHITE),
    }
    if accent:
        ratios["accent_text"] = contrast(accent, text_on(accent))
    return {k: round(v, 1) for k, v in ratios.items()}


def theme_variables(primary: str, accent: str | None = None) -> dict[str, str]:
    link = readable_on_white(primary)
    hover = mix(primary, BLACK, 0.15)
    r, g, b = _rgb(primary)
    return {
        "--pico-primary": link,
        "--pico-primary-background": primary,
        "--pico-primary-border": primary,
        "--pico-primary-underline": f"rgba({r}, {g}, {b}, 0.5)",
        "--pico-primary-hover": mix(link, BLACK, 0.15),
        "--pico-primary-hover-background": hover,
        "--pico-primary-hover-border": hover,
        "--pico-primary-hover-underline": mix(link, BLACK, 0.15),
        "--pico-primary-focus": f"rgba({r}, {g}, {b}, 0.4)",
        "--pico-primary-inverse": text_on(primary),
        "--brand-primary": primary,
        "--brand-on-primary": text_on(primary),
        "--brand-accent": accent or primary,
        "--brand-on-accent": text_on(accent or primary),
        # The focus ring (app.css): on the page, the link colour (at least 4.5:1 on
        # white, so past 3:1 on the near-white cards and alerts too); on the brand bar,
        # --brand-on-primary (white or black, whichever reads better: at least 4.5:1).
        "--brand-focus": link,
    }


def theme_css(primary: str, accent: str | None = None) -> str:
    lines = "".join(f"  {k}: {v};\n" for k, v in theme_variables(primary, accent).items())
    # Pico's own light-theme selectors, repeated so that this later sheet wins.
    return f":root:not([data-theme=dark]),\n[data-theme=light] {{\n{lines}}}\n"
