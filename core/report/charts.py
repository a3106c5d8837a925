"""The report's charts: matplotlib figures (Agg backend, no pyplot state, no network) turned
into inline SVG strings that scale with the page (viewBox kept, fixed size dropped).

Text stays text in the SVG (`svg.fonttype: none`, the page's own sans-serif font) and ids are
salted per chart so that several charts in one page never share an id. Pure: arrays in, SVG
text out; large inputs are reduced before plotting (a Pareto curve of a million customers is
drawn from a few hundred points).
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from typing import Any, cast

import matplotlib
import numpy as np
from matplotlib.figure import Figure

matplotlib.use("Agg")

PALETTE = ("#2f6fb3", "#e07b39", "#3a9a5b", "#b8473d", "#7a5ab8", "#8c6d31", "#d16fa5", "#555")
WIDTH, HEIGHT = 7.0, 3.6  # inches at 72 dpi in the SVG's viewBox: about 500 x 260 points
_STYLE: dict[str, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "loyalsync",
    "font.family": "sans-serif",
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e4e4e4",
    "axes.edgecolor": "#999",
    "axes.titlesize": 11,
}
_SIZE = re.compile(r'(<svg[^>]*?)\s(?:width|height)="[^"]*"')


def _rc(extra: dict[str, Any] | None = None) -> Any:
    """The report's matplotlib style (plus `extra`) for one block of drawing."""
    return matplotlib.rc_context(cast(Any, {**_STYLE, **(extra or {})}))


def to_svg(fig: Figure, name: str, label: str) -> str:
    """The figure as an inline <svg> element (no XML prolog), labelled for screen readers."""
    out = io.StringIO()
    with _rc({"svg.hashsalt": name}):
        fig.savefig(out, format="svg", bbox_inches="tight", metadata={"Date": None})
    svg = out.getvalue()
    svg = svg[svg.index("<svg") :]
    for _ in range(2):
        svg = _SIZE.sub(r"\1", svg, count=1)
    svg = _prefixed_ids(svg, name)
    safe = label.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return svg.replace("<svg", f'<svg role="img" aria-label="{safe}" class="chart"', 1)


_ID = re.compile(r'(\bid="|href="#|url\(#)([^")]+)')


def _prefixed_ids(svg: str, name: str) -> str:
    """Every id (and each reference to it) prefixed with the chart's name: matplotlib numbers
    its groups per figure (figure_1, axes_1), which would clash between charts of one page."""
    ids = set(re.findall(r'\bid="([^"]+)"', svg))
    return _ID.sub(lambda m: m[1] + (f"{name}-{m[2]}" if m[2] in ids else m[2]), svg)


def _figure(height: float = HEIGHT) -> Figure:
    with _rc():
        fig = Figure(figsize=(WIDTH, height), dpi=72)
        fig.add_subplot()
    return fig


def line_chart(
    name: str,
    x: Sequence[str],
    series: Mapping[str, Sequence[float]],
    ylabel: str,
    title: str = "",
) -> str:
    """One line per series over shared category labels (dates or months)."""
    with _rc():
        fig = _figure()
        ax = fig.axes[0]
        for i, (label, values) in enumerate(series.items()):
            ax.plot(range(len(x)), values, marker="o", ms=3, lw=1.6,
                    color=PALETTE[i % len(PALETTE)], label=label)  # fmt: skip
        _categories(ax, x)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        if len(series) > 1:
            ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1, 1))
        return to_svg(fig, name, title or ylabel)


def bar_chart(
    name: str, x: Sequence[str], series: Mapping[str, Sequence[float]], ylabel: str, title: str
) -> str:
    """Grouped bars per category (months): e.g. codes issued and redeemed."""
    with _rc():
        fig = _figure()
        ax = fig.axes[0]
        width = 0.8 / max(len(series), 1)
        for i, (label, values) in enumerate(series.items()):
            at = np.arange(len(x)) + (i - (len(series) - 1) / 2) * width
            ax.bar(at, values, width=width, color=PALETTE[i % len(PALETTE)], label=label)
        _categories(ax, x)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        if len(series) > 1:
            ax.legend(fontsize=8, frameon=False)
        return to_svg(fig, name, title)


def _categories(ax: object, x: Sequence[str]) -> None:
    """At most about 12 tick labels, so dates stay readable on a phone."""
    step = max(1, int(np.ceil(len(x) / 12)))
    ticks = list(range(0, len(x), step))
    ax.set_xticks(ticks, [x[i] for i in ticks], rotation=45, ha="right")  # type: ignore[attr-defined]


def pareto_chart(revenue: np.ndarray, cuts: Mapping[str, float], currency: str) -> str:
    """Cumulative revenue share over the share of customers (best first), the class cuts as
    dashed lines at the customer share where each cut's revenue share is reached."""
    ordered = np.sort(np.asarray(revenue, dtype=float))[::-1]
    total = ordered.sum()
    points = min(len(ordered), 400)
    at = np.unique(np.linspace(0, len(ordered), points + 1).astype(int))
    cumulative = np.concatenate([[0.0], np.cumsum(ordered)])[at] / total
    customers = at / len(ordered)
    with _rc():
        fig = _figure()
        ax = fig.axes[0]
        ax.plot(100 * customers, 100 * cumulative, color=PALETTE[0], lw=2)
        for i, (label, revenue_share) in enumerate(cuts.items()):
            x = 100 * float(customers[np.searchsorted(cumulative, revenue_share)])
            ax.axvline(x, color=PALETTE[1 + i], ls="--", lw=1)
            ax.text(x, 3, f" {label}: {x:.1f} % of customers", color=PALETTE[1 + i], fontsize=8)
        ax.set_xlabel("share of customers, highest revenue first (%)")
        ax.set_ylabel(f"cumulative revenue share (%, {currency})")
        ax.set_xlim(0, 100)
        ax.set_ylim(0, 101)
        ax.set_title("ABC / Pareto curve")
        return to_svg(fig, "pareto", "ABC / Pareto curve: cumulative revenue share")


def rfm_grid(counts: np.ndarray, revenue: np.ndarray, currency: str) -> str:
    """Recency score (rows) by frequency score (columns): circle area = customers, colour =
    revenue. `counts` and `revenue` are scale x scale arrays indexed [r - 1, f - 1]."""
    scale = counts.shape[0]
    r, f = np.meshgrid(np.arange(1, scale + 1), np.arange(1, scale + 1), indexing="ij")
    biggest = max(int(counts.max()), 1)
    with _rc():
        fig = _figure(height=4.2)
        ax = fig.axes[0]
        area = 1800 * counts.ravel() / biggest + 4
        dots = ax.scatter(f.ravel(), r.ravel(), s=area, c=revenue.ravel(), cmap="viridis",
                          edgecolors="#333", linewidths=0.5)  # fmt: skip
        for rr, ff, n in zip(r.ravel(), f.ravel(), counts.ravel(), strict=True):
            ax.annotate(f"{int(n):,}", (ff, rr), ha="center", va="center", fontsize=8,
                        xytext=(0, -22), textcoords="offset points")  # fmt: skip
        ax.set_xticks(range(1, scale + 1))
        ax.set_yticks(range(1, scale + 1))
        ax.set_xlim(0.4, scale + 0.6)
        ax.set_ylim(0.4, scale + 0.6)
        ax.set_xlabel("frequency score (more orders →)")
        ax.set_ylabel("recency score (more recent →)")
        ax.set_title("RFM grid: circle area = customers, colour = revenue")
        fig.colorbar(dots, ax=ax, label=f"revenue ({currency})")
        return to_svg(fig, "rfm", "RFM grid of recency by frequency scores")


def histogram(name: str, values: np.ndarray, xlabel: str, title: str, bins: int = 30) -> str:
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    with _rc():
        fig = _figure()
        ax = fig.axes[0]
        ax.hist(finite, bins=bins, color=PALETTE[0], edgecolor="white", linewidth=0.5)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("customers")
        ax.set_title(title)
        return to_svg(fig, name, title)
