"""The digest's optional chart: mentions per day over 7 days, one line per watcher, as a small PNG.

matplotlib is optional (DIGEST_CHART=true needs it), so it is imported here only when a chart is drawn. The
figure is built with matplotlib's object API on the Agg canvas, never pyplot, so no global state or GUI backend is
involved and drawing in a worker thread is safe. Watcher names are ours (watchers.toml), not outside text.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import date

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SIZE_INCHES = (6.0, 3.0)
DPI = 100
MAX_LINES = 8  # more lines than this are unreadable on a phone: the busiest watchers are drawn


def volume_chart(daily_volume: Mapping[str, Sequence[tuple[date, int]]], *, title: str) -> bytes:
    """A PNG of each watcher's mentions per day (`Digest.daily_volume`)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=SIZE_INCHES, dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    busiest = sorted(daily_volume.items(), key=lambda item: (-sum(n for _, n in item[1]), item[0]))[:MAX_LINES]
    for name, days in busiest:
        axes.plot([day.strftime("%d/%m") for day, _ in days], [n for _, n in days], marker="o", label=name)
    axes.set_title(title, fontsize=10)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylim(bottom=0)
    axes.grid(axis="y", alpha=0.3)
    axes.tick_params(labelsize=8)
    if busiest:
        axes.legend(fontsize=7, loc="upper left", frameon=False)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
