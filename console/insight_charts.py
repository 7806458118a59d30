"""Charts drawn on the server as inline SVG: nothing to load, no script, no style attribute.

Colours come from classes in static/insight.css (the strict CSP allows only our stylesheets), so a
chart is plain markup beside the table that carries the same figures for anyone without the
picture. Every shape carries a ``<title>`` with its number. Each piece is ``Markup.format``-ed, so
every label is escaped.
"""
from __future__ import annotations

from markupsafe import Markup

WIDTH = 720
BAR_WIDTH = 480  # the bar charts sit in half-width columns: a narrower canvas keeps their text legible
HEIGHT = 220
LEFT = 40
BOTTOM = 24
TOP = 10
SERIES_CLASSES = 6  # sealed-series-0 … -5 in insight.css

_OPEN = Markup('<svg class="sealed-chart" viewBox="0 0 {} {}" role="img" aria-labelledby="{}-title" id="{}">'
               '<title id="{}-title">{}</title>')
_CLOSE = Markup("</svg>")
_GRID = Markup('<line class="sealed-grid" x1="{}" x2="{}" y1="{:.1f}" y2="{:.1f}"/>')
_TEXT = Markup('<text class="sealed-axis" x="{:.1f}" y="{:.1f}" text-anchor="{}">{}</text>')
_RECT = Markup('<rect class="{}" x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}"><title>{}</title></rect>')


def _scale_max(value: int) -> int:
    """A round top for the axis at or above ``value``."""
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if value <= step * 4:
            return step * 4
    return value


def stacked_bars(title: str, days: list[str], series: list[str], value, chart_id: str) -> Markup:
    """Bars per day, stacked by series. ``value(day, index)`` is the count of series ``index`` on ``day``."""
    totals = [sum(value(day, i) for i in range(len(series))) for day in days]
    top = _scale_max(max(totals, default=0) or 1)
    plot_w, plot_h = WIDTH - LEFT - 10, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(days), 1)
    parts = [_OPEN.format(WIDTH, HEIGHT, chart_id, chart_id, chart_id, title)]
    for fraction in (0, 0.5, 1):
        y = TOP + plot_h * (1 - fraction)
        parts.append(_GRID.format(LEFT, WIDTH - 10, y, y))
        parts.append(_TEXT.format(LEFT - 4, y + 4, "end", int(top * fraction)))
    for n, day in enumerate(days):
        x = LEFT + n * slot + slot * 0.15
        y = TOP + plot_h
        for i, name in enumerate(series):
            count = value(day, i)
            if not count:
                continue
            h = plot_h * count / top
            y -= h
            parts.append(_RECT.format(f"sealed-series-{i % SERIES_CLASSES}", x, y, slot * 0.7, h,
                                      f"{day}: {name} {count}"))
        # A label a week, and the last day's unless it would run into the one before.
        if n % 7 == 0 or (n == len(days) - 1 and n % 7 >= 3):
            parts.append(_TEXT.format(x + slot * 0.35, HEIGHT - 6, "middle", day[5:]))
    parts.append(_CLOSE)
    return Markup("").join(parts)


def horizontal_bars(title: str, rows: list[tuple[str, int]], chart_id: str, css_class: str = "sealed-series-0"
                    ) -> Markup:
    """One bar per row (label, count), the longest for the largest count."""
    top = max((count for _label, count in rows), default=0) or 1
    bar_h, label_w = 22, 190
    height = TOP + bar_h * len(rows) + 4
    parts = [_OPEN.format(BAR_WIDTH, height, chart_id, chart_id, chart_id, title)]
    for n, (label, count) in enumerate(rows):
        y = TOP + n * bar_h
        width = (BAR_WIDTH - label_w - 50) * count / top
        short = label if len(label) <= 34 else label[:33] + "…"
        parts.append(_TEXT.format(label_w - 6, y + 15, "end", short))
        parts.append(_RECT.format(css_class, label_w, y + 3, width, bar_h - 6, f"{label}: {count}"))
        parts.append(_TEXT.format(label_w + width + 6, y + 15, "start", count))
    parts.append(_CLOSE)
    return Markup("").join(parts)
