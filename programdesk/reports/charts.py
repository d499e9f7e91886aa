"""Charts as server-rendered SVG: no JavaScript, no chart library, no CDN. Each chart is an
``<svg role="img">`` with a title and a text description, and each bar carries a ``<title>``
tooltip with its exact value; pages show the numbers in a table next to it as well."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Distinguishable for common colour-vision deficiencies (Okabe–Ito).
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
           "#000000"]


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[float | int | Decimal | None]
    color: str | None = None


def nice_step(top: float, ticks: int = 5) -> float:
    """A round step (1, 2 or 5 × 10ⁿ) giving about ``ticks`` grid lines up to ``top``."""
    if top <= 0:
        return 1.0
    raw = top / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * magnitude:
            return float(factor * magnitude)
    return float(10 * magnitude)  # pragma: no cover - the loop always returns


def _fmt(value: float) -> str:
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def bar_chart(*, title: str, categories: Sequence[str], series: Sequence[Series],
              stacked: bool = True, value_label: str = "", width: int = 760,
              height: int = 300, chart_id: str = "chart") -> SafeString:
    """Vertical bars per category; several series stack (or stand side by side)."""
    legend_h = 26 if len(series) > 1 else 0
    left, right, top, bottom = 56, 12, 28, 30 + legend_h
    plot_w = width - left - right
    plot_h = height - top - bottom
    n = max(len(categories), 1)
    values = [[float(v or 0) for v in s.values] for s in series]
    if stacked:
        peak = max((sum(col) for col in zip(*values, strict=True)), default=0.0)
    else:
        peak = max((max(v, default=0.0) for v in values), default=0.0)
    step = nice_step(peak)
    y_max = step * max(math.ceil(peak / step), 1)

    def y(v: float) -> float:
        return top + plot_h - (v / y_max) * plot_h

    slot = plot_w / n
    bar_w = slot * 0.7 if stacked else slot * 0.8 / max(len(series), 1)
    parts: list[str] = []
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    summary = "; ".join(
        f"{cat}: " + ", ".join(f"{s.label} {_fmt(values[i][j])}" for i, s in enumerate(series))
        for j, cat in enumerate(categories))
    parts.append(
        f'<svg class="chart" id="{escape(chart_id)}" role="img" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg" aria-labelledby="{title_id} {desc_id}" '
        f'font-family="system-ui, sans-serif" font-size="12">'
        f'<title id="{title_id}">{escape(title)}</title>'
        f'<desc id="{desc_id}">{escape(summary or "No data")}</desc>'
        f'<text x="{left}" y="16" font-weight="600" font-size="13">{escape(title)}</text>')

    # Grid lines and the value axis.
    tick = 0.0
    while tick <= y_max + 1e-9:
        ty = y(tick)
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{ty:.1f}" y2="{ty:.1f}" '
                     f'stroke="#d7dadd" stroke-width="1"/>'
                     f'<text x="{left - 6}" y="{ty + 4:.1f}" text-anchor="end" '
                     f'fill="#5b6670">{_fmt(tick)}</text>')
        tick += step
    if value_label:
        parts.append(f'<text x="14" y="{top + plot_h / 2:.1f}" text-anchor="middle" '
                     f'transform="rotate(-90 14 {top + plot_h / 2:.1f})" fill="#5b6670">'
                     f'{escape(value_label)}</text>')

    # Bars.
    # Label as many categories as fit side by side (about 7 px a character).
    label_px = 7 * max((len(_short(c)) for c in categories), default=1) + 10
    label_every = max(1, math.ceil(n * label_px / plot_w))
    for j, category in enumerate(categories):
        x0 = left + j * slot + (slot - (bar_w if stacked else bar_w * len(series))) / 2
        base = 0.0
        for i, s in enumerate(series):
            v = values[i][j]
            color = s.color or PALETTE[i % len(PALETTE)]
            if stacked:
                bx, y_top, y_bottom = x0, y(base + v), y(base)
                base += v
            else:
                bx, y_top, y_bottom = x0 + i * bar_w, y(v), y(0)
            if v > 0:
                parts.append(
                    f'<rect x="{bx:.1f}" y="{y_top:.1f}" width="{bar_w:.1f}" '
                    f'height="{max(y_bottom - y_top, 0.5):.1f}" fill="{color}">'
                    f'<title>{escape(category)} · {escape(s.label)}: {_fmt(v)}</title></rect>')
        if j % label_every == 0:
            cx = left + j * slot + slot / 2
            parts.append(f'<text x="{cx:.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
                         f'fill="#1d2327">{escape(_short(category))}</text>')
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" '
                 f'y2="{top + plot_h}" stroke="#5b6670"/>')

    if len(series) > 1:
        parts.extend(_legend(series, left=left, baseline=height - 14))
    if not categories:
        parts.append(f'<text x="{left + plot_w / 2:.1f}" y="{top + plot_h / 2:.1f}" '
                     f'text-anchor="middle" fill="#5b6670">No data for these filters</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped


def _legend(series: Sequence[Series], *, left: int, baseline: int) -> list[str]:
    """A colour box and the name of each series, in a row."""
    parts: list[str] = []
    lx, ly = left, baseline
    for i, s in enumerate(series):
        color = s.color or PALETTE[i % len(PALETTE)]
        label = _short(s.label, 28)
        parts.append(f'<rect x="{lx}" y="{ly - 10}" width="12" height="12" fill="{color}"/>'
                     f'<text x="{lx + 16}" y="{ly}">{escape(label)}</text>')
        lx += 24 + 7 * len(label)
    return parts


def _short(text: str, limit: int = 14) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
