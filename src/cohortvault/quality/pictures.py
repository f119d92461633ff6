"""The missingness matrix as a small SVG picture: one row per variable, one column per
timepoint, each cell coloured by the share of missing values, with a tooltip (``<title>``).

Served as an image, so it uses presentation attributes only: no ``style`` attribute, no
``<style>`` element, no script, no external references. Every text is escaped.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from cohortvault.quality.model import Missingness, MissingnessCell

CELL_W, CELL_H = 18, 14
FONT = 11
MAX_ROWS = 400
MAX_LABEL = 32
#: (upper bound of the missing share, colour, legend text)
SCALE = (
    (0.0, "#1a9850", "none missing"),
    (0.10, "#91cf60", "up to 10%"),
    (0.50, "#fee08b", "up to 50%"),
    (0.9999, "#fc8d59", "over 50%"),
    (1.0, "#d73027", "all missing"),
)
NOT_EXPECTED = "#d9d9d9"
NO_ROWS = "#ffffff"
LEGEND = (
    *((c, text) for _, c, text in SCALE),
    (NOT_EXPECTED, "not expected, none given (a dashed outline: not expected)"),
    (NO_ROWS, "no rows at this timepoint"),
)


def colour(cell: MissingnessCell) -> str:
    if cell.rows == 0:
        return NO_ROWS
    share = cell.missing / cell.rows
    if not cell.expected and share >= 1.0:
        return NOT_EXPECTED
    return next(c for bound, c, _ in SCALE if share <= bound)


def _label(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def _text(x: float, y: float, content: str, **attributes: str) -> str:
    extra = "".join(f" {k.replace('_', '-')}={quoteattr(v)}" for k, v in attributes.items())
    return f'<text x="{x:.0f}" y="{y:.0f}"{extra}>{escape(content)}</text>'


def missingness_svg(
    missingness: Missingness, *, title: str = "Missing values by variable and timepoint"
) -> str:
    rows = list(missingness.variables[:MAX_ROWS])
    absent = [v for v in missingness.absent if v not in rows][: max(MAX_ROWS - len(rows), 0)]
    points = list(missingness.timepoints) or ["(none)"]
    names = rows + absent
    left = 12 + 7 * max([len(_label(n)) for n in names] + [8])
    top = 12 + 7 * max(len(_label(p)) for p in points) // 1.4 + 10
    legend_width = CELL_W + 6 + 7 * max(len(text) for _, text in LEGEND) + 10
    width = int(left + max(CELL_W * len(points) + 20, legend_width))
    legend_y = top + CELL_H * len(names) + 24
    height = int(legend_y + 20 * (len(SCALE) + 2) + 10)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label={quoteattr(title)} '
        f'font-family="sans-serif" font-size="{FONT}">',
        f"<title>{escape(title)}</title>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    for j, point in enumerate(points):
        x = left + CELL_W * j + CELL_W / 2
        parts.append(
            f'<g transform="translate({x:.0f},{top - 6:.0f}) rotate(-45)">'
            f"{_text(0, 0, _label(point), fill='#333333')}</g>"
        )
    for i, name in enumerate(names):
        y = top + CELL_H * i
        parts.append(
            _text(left - 6, y + CELL_H - 3, _label(name), text_anchor="end", fill="#333333")
        )
        for j, point in enumerate(points):
            x = left + CELL_W * j
            cell = missingness.cells.get(name, {}).get(point)
            if name in absent:
                fill, tip = SCALE[-1][1], f"{name}: no column in the file"
            elif cell is None:
                fill, tip = NO_ROWS, f"{name} at {point}: no rows"
            else:
                fill = colour(cell)
                share = cell.missing / cell.rows if cell.rows else 0.0
                expected = "" if cell.expected else " (not expected)"
                counts = f"{cell.missing} of {cell.rows} missing ({share:.0%})"
                tip = f"{name} at {point}: {counts}{expected}"
            outline = (
                'stroke="#666666" stroke-width="1" stroke-dasharray="2,2"'
                if cell is not None and not cell.expected
                else 'stroke="#ffffff" stroke-width="1"'
            )
            parts.append(
                f'<rect x="{x}" y="{y}" width="{CELL_W - 1}" height="{CELL_H - 1}" '
                f'fill="{fill}" {outline}><title>{escape(tip)}</title></rect>'
            )
    for k, (fill, text) in enumerate(LEGEND):
        y = legend_y + 20 * k
        parts.append(
            f'<rect x="{left}" y="{y:.0f}" width="{CELL_W - 1}" height="{CELL_H - 1}" '
            f'fill="{fill}" stroke="#999999" stroke-width="0.5"/>'
        )
        parts.append(_text(left + CELL_W + 6, y + CELL_H - 3, text, fill="#333333"))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
