"""Participation per day as a PNG bar chart, drawn with matplotlib's Agg renderer.

The figure is built directly on an Agg canvas (no ``pyplot``, no global state,
no display), so the report can be made in any thread or on a server without
a screen. Bars are stacked by language, days on the horizontal axis.

matplotlib (and numpy under it) is imported when the first chart is drawn, not
with this module: the web report imports it in ``serve``, where the two would
hold some 50 MB from start-up in a process that may never draw a chart.
"""

from __future__ import annotations

import io

from mailer.synthesis.data import Report

# Colours that stay apart for the common colour-vision deficiencies (Okabe-Ito).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")


def participation_png(report: Report, dpi: int = 110) -> bytes:
    """The chart of contributions per day of *report*, as PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    words = report.labels
    days = [d for d, _ in report.per_day]
    figure = Figure(figsize=(9, 3.6), dpi=dpi)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    bottom = [0] * len(days)
    for i, language in enumerate(report.languages):
        counts = [per.get(language, 0) for _, per in report.per_day]
        ax.bar(
            range(len(days)),
            counts,
            bottom=bottom,
            color=PALETTE[i % len(PALETTE)],
            label=words.get(language, language),
            width=0.8,
        )
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    ax.set_xticks(range(len(days)))
    ax.set_xticklabels([f"{d.day}/{d.month}" for d in days], rotation=60, fontsize=8)
    ax.set_ylabel(words["count"])
    ax.set_title(words["per_day"])
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", alpha=0.3)
    if report.languages:
        ax.legend(frameon=False, fontsize=9)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
