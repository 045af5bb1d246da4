"""Small line charts as standalone SVG text, for the benchmark's growth charts (``ops bench --plot``).

No plotting library: the charts are a few lines with markers, value labels, linear axes with
round ticks and a legend, readable on GitHub and in a browser, and stable text for the repository
(no timestamps, no random ids).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 720, 380
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 72, 200, 44, 56
COLOURS = ("#c0392b", "#1f77b4", "#2ca02c", "#7f7f7f", "#9467bd")
FONT = "font-family='Helvetica, Arial, sans-serif'"


@dataclass(frozen=True)
class Series:
    """One line: its name in the legend, its points (x, y) and whether it is drawn dashed."""

    name: str
    points: Sequence[tuple[float, float]]
    dashed: bool = False


def nice_ticks(high: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``high``: steps of 1, 2, 2.5 or 5 times a power of ten."""
    if high <= 0:
        return [0.0, 1.0]
    raw = high / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    top = math.ceil(high / step - 1e-9) * step
    return [round(i * step, 10) for i in range(round(top / step) + 1)]


def _label(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def line_chart(title: str, x_label: str, y_label: str, series: Sequence[Series], *, x_ticks: Sequence[float] | None = None) -> str:
    """The SVG document of a line chart of ``series`` (both axes start at 0)."""
    xs = [x for s in series for x, _ in s.points] or [1.0]
    ys = [y for s in series for _, y in s.points] or [1.0]
    x_axis = list(x_ticks) if x_ticks else nice_ticks(max(xs))
    y_axis = nice_ticks(max(ys))
    x_max, y_max = max(x_axis[-1], max(xs)), y_axis[-1]
    plot_w, plot_h = WIDTH - MARGIN_LEFT - MARGIN_RIGHT, HEIGHT - MARGIN_TOP - MARGIN_BOTTOM

    def px(x: float) -> float:
        return MARGIN_LEFT + (x / x_max if x_max else 0) * plot_w

    def py(y: float) -> float:
        return MARGIN_TOP + plot_h - (y / y_max if y_max else 0) * plot_h

    out = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' height='{HEIGHT}' viewBox='0 0 {WIDTH} {HEIGHT}'>",
        f"<rect width='{WIDTH}' height='{HEIGHT}' fill='white'/>",
        f"<text x='{WIDTH / 2 - MARGIN_RIGHT / 2:.0f}' y='24' text-anchor='middle' font-size='15' font-weight='bold' {FONT}>"
        f"{escape(title)}</text>",
    ]
    for y in y_axis:
        out.append(f"<line x1='{MARGIN_LEFT}' x2='{MARGIN_LEFT + plot_w}' y1='{py(y):.1f}' y2='{py(y):.1f}' stroke='#e5e5e5'/>")
        out.append(f"<text x='{MARGIN_LEFT - 6}' y='{py(y) + 4:.1f}' text-anchor='end' font-size='11' {FONT}>{_label(y)}</text>")
    for x in x_axis:
        out.append(f"<line x1='{px(x):.1f}' x2='{px(x):.1f}' y1='{MARGIN_TOP + plot_h}' y2='{MARGIN_TOP + plot_h + 4}' stroke='#333'/>")
        out.append(f"<text x='{px(x):.1f}' y='{MARGIN_TOP + plot_h + 17}' text-anchor='middle' font-size='11' {FONT}>{_label(x)}</text>")
    out += [
        f"<line x1='{MARGIN_LEFT}' x2='{MARGIN_LEFT}' y1='{MARGIN_TOP}' y2='{MARGIN_TOP + plot_h}' stroke='#333'/>",
        f"<line x1='{MARGIN_LEFT}' x2='{MARGIN_LEFT + plot_w}' y1='{MARGIN_TOP + plot_h}' y2='{MARGIN_TOP + plot_h}' stroke='#333'/>",
        f"<text x='{MARGIN_LEFT + plot_w / 2:.0f}' y='{HEIGHT - 14}' text-anchor='middle' font-size='12' {FONT}>{escape(x_label)}</text>",
        f"<text transform='translate(18 {MARGIN_TOP + plot_h / 2:.0f}) rotate(-90)' text-anchor='middle' font-size='12' {FONT}>"
        f"{escape(y_label)}</text>",
    ]
    for k, s in enumerate(series):
        colour = COLOURS[k % len(COLOURS)]
        points = sorted(s.points)
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in points)
        dash = " stroke-dasharray='6 4'" if s.dashed else ""
        out.append(f"<polyline points='{path}' fill='none' stroke='{colour}' stroke-width='2'{dash}/>")
        for x, y in points:
            out.append(f"<circle cx='{px(x):.1f}' cy='{py(y):.1f}' r='3.5' fill='{colour}'/>")
            if not s.dashed:
                out.append(f"<text x='{px(x) + 5:.1f}' y='{py(y) - 7:.1f}' font-size='10' fill='{colour}' {FONT}>{_label(y)}</text>")
        ly = MARGIN_TOP + 10 + 20 * k
        lx = WIDTH - MARGIN_RIGHT + 40
        out.append(f"<line x1='{lx}' x2='{lx + 22}' y1='{ly}' y2='{ly}' stroke='{colour}' stroke-width='2'{dash}/>")
        out.append(f"<text x='{lx + 28}' y='{ly + 4}' font-size='11' {FONT}>{escape(s.name)}</text>")
    out.append("</svg>")
    return "\n".join(out) + "\n"
