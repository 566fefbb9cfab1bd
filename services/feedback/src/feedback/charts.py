"""Server-side SVG charts (pure): bars, lines and signed horizontal bars, with titles.

Each chart is one `<svg role="img">` with a `<title>` and `<desc>` (what a screen reader
says), a `<title>` on every bar and point (the tooltip), and a viewBox so it scales to the
page's width. No script, no external asset: the page works offline.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 480, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 10, 34, 30
# Okabe–Ito: told apart with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#999999")
POSITIVE, NEGATIVE = "#009E73", "#D55E00"
Format = Callable[[float], str]


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]


def number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 or value == int(value) else f"{value:,.2f}"


def percent(value: float) -> str:
    return f"{value * 100:.0f} %"


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 × 10^k at or above `value` (1 for nothing)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)  # pragma: no cover - the loop always returns


def axis_top(peak: float, *, whole: bool) -> float:
    """The axis maximum: four equal, round steps above `peak` (whole steps for counts)."""
    step = nice_ceiling(peak / 4)
    return 4 * (max(step, 1.0) if whole else step)


def _open(chart_id: str, title: str, desc: str, height: int = HEIGHT) -> list[str]:
    t, d = escape(title), escape(desc)
    return [
        f'<svg class="chart" id="{chart_id}" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-t">{t}</title><desc id="{chart_id}-d">{d}</desc>',
    ]


def _text(x: float, y: float, s: str, anchor: str = "middle", cls: str = "") -> str:
    extra = f' class="{cls}"' if cls else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{extra}>{escape(s)}</text>'


def _empty(parts: list[str], height: int = HEIGHT) -> str:
    parts.append(_text(WIDTH / 2, height / 2, "No data in this period", cls="muted"))
    return "".join([*parts, "</svg>"])


def _legend(names: Sequence[str]) -> list[str]:
    out, x = [], float(LEFT)
    for i, name in enumerate(names):
        colour = PALETTE[i % len(PALETTE)]
        out.append(f'<rect x="{x:.1f}" y="8" width="10" height="10" fill="{colour}"/>')
        out.append(_text(x + 14, 17, name[:26], anchor="start", cls="legend"))
        x += 24 + 7.5 * min(len(name), 26)  # room for the phone's larger text
    return out


def _y_axis(top: float, fmt: Format) -> tuple[list[str], Callable[[float], float]]:
    """Grid lines and labels from 0 to `top`; returns them and the value → y mapping."""
    plot_h = HEIGHT - TOP - BOTTOM

    def y(v: float) -> float:
        return HEIGHT - BOTTOM - (v / top) * plot_h

    out = []
    for i in range(5):
        v = top * i / 4
        out.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(v):.1f}" y2="{y(v):.1f}" class="grid"/>'
        )
        out.append(_text(LEFT - 4, y(v) + 4, fmt(v), anchor="end", cls="axis"))
    return out, y


def _x_labels(categories: Sequence[str], band: float) -> list[str]:
    every = max(1, math.ceil(len(categories) / 8))
    return [
        _text(LEFT + band * (i + 0.5), HEIGHT - BOTTOM + 16, c, cls="axis")
        for i, c in enumerate(categories)
        if i % every == 0
    ]


def bar_chart(
    chart_id: str,
    title: str,
    desc: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    stacked: bool = False,
    fmt: Format = number,
) -> str:
    """Vertical bars per category: one per series side by side, or stacked."""
    parts = _open(chart_id, title, desc)
    if not categories or not series:
        return _empty(parts)
    vals = [[v or 0.0 for v in s.values] for s in series]
    peak = (
        max(sum(col) for col in zip(*vals, strict=True)) if stacked else max(max(v) for v in vals)
    )
    grid, y = _y_axis(axis_top(peak, whole=True), fmt)
    parts += grid + _legend([s.name for s in series])
    band = (WIDTH - LEFT - RIGHT) / len(categories)
    width = band * 0.8 / (1 if stacked else len(series))
    for ci, category in enumerate(categories):
        base = 0.0
        for si, s in enumerate(series):
            v = vals[si][ci]
            x = LEFT + band * ci + band * 0.1 + (0 if stacked else width * si)
            low = base if stacked else 0.0
            top_y, bottom_y = y(low + v), y(low)
            label = escape(f"{category} · {s.name}: {fmt(v)}")
            parts.append(
                f'<rect x="{x:.1f}" y="{top_y:.1f}" width="{width:.1f}" '
                f'height="{bottom_y - top_y:.1f}" fill="{PALETTE[si % len(PALETTE)]}">'
                f"<title>{label}</title></rect>"
            )
            base += v if stacked else 0.0
    parts += _x_labels(categories, band)
    return "".join([*parts, "</svg>"])


def line_chart(
    chart_id: str,
    title: str,
    desc: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    top: float | None = None,
    fmt: Format = percent,
) -> str:
    """A line per series over the categories; a gap where a value is null."""
    parts = _open(chart_id, title, desc)
    known = [v for s in series for v in s.values if v is not None]
    if not categories or not known:
        return _empty(parts)
    grid, y = _y_axis(top or axis_top(max(known), whole=False), fmt)
    parts += grid + _legend([s.name for s in series])
    band = (WIDTH - LEFT - RIGHT) / len(categories)
    for si, s in enumerate(series):
        colour = PALETTE[si % len(PALETTE)]
        path: list[str] = []
        dots: list[str] = []
        pen_down = False
        for ci, v in enumerate(s.values):
            if v is None:
                pen_down = False
                continue
            x = LEFT + band * (ci + 0.5)
            path.append(f"{'L' if pen_down else 'M'}{x:.1f},{y(v):.1f}")
            pen_down = True
            label = escape(f"{categories[ci]} · {s.name}: {fmt(v)}")
            dots.append(
                f'<circle cx="{x:.1f}" cy="{y(v):.1f}" r="3.5" fill="{colour}">'
                f"<title>{label}</title></circle>"
            )
        if path:
            parts.append(
                f'<path d="{" ".join(path)}" fill="none" stroke="{colour}" stroke-width="2"/>'
            )
        parts += dots
    parts += _x_labels(categories, band)
    return "".join([*parts, "</svg>"])


def hbar_chart(
    chart_id: str, title: str, desc: str, items: Sequence[tuple[str, float, str]]
) -> str:
    """Horizontal bars from a zero line (negative to the left): (label, value, value text)."""
    row, label_w = 26, 120
    height = max(80, TOP + row * len(items) + 10)
    parts = _open(chart_id, title, desc, height)
    if not items:
        return _empty(parts, height)
    low = min(0.0, *(v for _, v, _ in items))
    high = max(0.0, *(v for _, v, _ in items))
    span = (high - low) or 1.0
    plot_w = WIDTH - label_w - RIGHT - 60

    def x(v: float) -> float:
        return label_w + (v - low) / span * plot_w

    zero = x(0.0)
    for i, (label, value, text) in enumerate(items):
        top = TOP + i * row
        left, right = sorted((zero, x(value)))
        colour = POSITIVE if value >= 0 else NEGATIVE
        parts.append(_text(label_w - 6, top + 15, label[:20], anchor="end", cls="axis"))
        parts.append(
            f'<rect x="{left:.1f}" y="{top + 3:.1f}" width="{max(right - left, 1):.1f}" '
            f'height="{row - 8}" fill="{colour}"><title>{escape(f"{label}: {text}")}</title>'
            "</rect>"
        )
        parts.append(_text(right + 4, top + 15, text, anchor="start", cls="value"))
    parts.append(
        f'<line x1="{zero:.1f}" x2="{zero:.1f}" y1="{TOP - 4}" y2="{height - 8}" class="zero"/>'
    )
    return "".join([*parts, "</svg>"])
