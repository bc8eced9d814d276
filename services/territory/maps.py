"""SVG maps of departments, drawn on the server (no JavaScript, no tiles, no CDN).

The outlines are a simplified projection of IGN Admin Express (see data/ATTRIBUTION.md),
with the overseas departments and a zoom of Paris and its inner ring drawn as insets.
Pure function: values in, SVG text out.
"""

from __future__ import annotations

import functools
import json
from html import escape
from pathlib import Path

DATA = Path(__file__).parent / "data" / "departements.svg.json"


@functools.cache
def outlines() -> dict:
    return json.loads(DATA.read_text(encoding="utf-8"))


def department_map_svg(
    fills: dict[str, str],
    titles: dict[str, str] | None = None,
    *,
    links: dict[str, str] | None = None,
    default_fill: str = "#e8e8ee",
    label: str = "Carte des départements",
) -> str:
    """An SVG map: `fills` maps department codes to CSS colours; `titles` gives tooltips
    (also read by screen readers); `links` makes departments clickable."""
    data = outlines()
    titles = titles or {}
    links = links or {}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{data["viewBox"]}" role="img" '
        f'aria-label="{escape(label)}" class="map">'
    ]
    for inset in data["insets"]:
        x, y, width, height = inset["box"]
        parts.append(
            f'<rect x="{x}" y="{y}" width="{width}" height="{height}" fill="none" stroke="#b8b8c8" stroke-width="1"/>'
            f'<text x="{x + 4}" y="{y + height - 6}" font-size="13" fill="#555">{escape(inset["name"])}</text>'
        )
    for code, path in sorted(data["departements"].items()):
        fill = fills.get(code, default_fill)
        title = f"<title>{escape(titles[code])}</title>" if code in titles else ""
        shape = f'<path d="{path}" fill="{escape(fill)}" stroke="#fff" stroke-width="0.6" data-code="{code}">{title}</path>'
        if code in links:
            shape = f'<a href="{escape(links[code])}">{shape}</a>'
        parts.append(shape)
    parts.append("</svg>")
    return "".join(parts)
