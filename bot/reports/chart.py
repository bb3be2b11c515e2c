"""The handoff as a picture for a chat preview: a PNG of 1200 x 675 px (16:9 at 150 dpi).

Left: tickets opened per hour of the shift, stacked by priority (P1..P4 in fixed colours).
Right: the top categories of the shift as horizontal bars, with the trend average marked.
matplotlib is imported only here and only when a chart is drawn, with the headless Agg
backend (no display, no GUI toolkit), and every figure is closed after saving.

Chinese labels need a CJK font; when none is installed the chart falls back to the
English labels (a missing glyph would draw empty boxes and warn).

matplotlib is the optional extra `charts` (`pip install 'helpdesk-bot[charts]'`): it and
what it pulls in (fontTools, Pillow, kiwisolver, contourpy...) are ~100 MiB of a ~390 MiB
install for this one picture. Without it (`charts_installed()` is False) the handoff
summary carries `text_chart` instead: the same two views as bars of block characters, in
a code block that every chat client shows (decision and sizes: README, "Operations").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.reports.handoff import Handoff, label
from bot.tickets.model import PRIORITIES

WIDTH_IN, HEIGHT_IN, DPI = 8.0, 4.5, 150
PRIORITY_COLOURS = {"P1": "#d62728", "P2": "#ff7f0e", "P3": "#1f77b4", "P4": "#9e9e9e"}
FONT_SIZE = 10
_CJK_FONTS = (
    "Noto Sans CJK TC",
    "Noto Sans CJK HK",
    "Noto Sans TC",
    "Noto Sans HK",
    "Source Han Sans TC",
    "Source Han Sans HK",
    "PingFang HK",
    "PingFang TC",
    "Microsoft JhengHei",
    "WenQuanYi Zen Hei",
)


def charts_installed() -> bool:
    """Whether matplotlib (the `charts` extra) can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


TEXT_BAR_WIDTH = 20
"""The longest bar of the text chart, in block characters."""


def text_chart(h: Handoff, lang: str = "en") -> str:
    """The chart's two views as text (a Markdown code block): tickets opened per hour,
    stacked P1..P4 counts shown beside each bar, and the top categories with their trend
    average. Used when matplotlib is not installed."""
    width = TEXT_BAR_WIDTH
    zone = f"{h.end.astimezone(h.tz):%Z}"
    lines = [label(lang, "chart_hourly") + f" ({zone})"]
    totals = [sum(b.counts) for b in h.hourly]
    most = max([*totals, 1])
    for bucket, total in zip(h.hourly, totals, strict=True):
        bar = "█" * round(width * total / most) if total else ""
        split = " ".join(f"{p}:{n}" for p, n in zip(PRIORITIES, bucket.counts, strict=True) if n)
        hour = f"{bucket.start.astimezone(h.tz):%H}"
        lines.append(f"{hour} {bar:<{width}} {total}" + (f"  ({split})" if split else ""))
    lines.append("")
    lines.append(label(lang, "chart_categories"))
    if not h.categories:
        lines.append("—")
    top = max([c.count for c in h.categories] + [1])
    name_width = max([len(c.category) for c in h.categories] + [1])
    for c in h.categories:
        bar = "█" * max(1, round(width * c.count / top))
        avg = "" if c.trend_avg is None else f"  (avg {c.trend_avg:.1f})"
        lines.append(f"{c.category:<{name_width}} {bar:<{width}} {c.count}{avg}")
    return "```\n" + "\n".join(lines) + "\n```"


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _cjk_font() -> str | None:
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in _CJK_FONTS if name in installed), None)


def handoff_chart(h: Handoff, path: Path, lang: str = "en") -> Path:
    """Draw `h` into the PNG at `path` (created or replaced) and return `path`."""
    plt = _pyplot()
    font = None
    if lang != "en":
        font = _cjk_font()
        if font is None:
            lang = "en"
    rc: dict[str, Any] = {"font.size": FONT_SIZE, "axes.titlesize": FONT_SIZE + 1}
    if font:
        rc["font.family"] = [font, "DejaVu Sans"]
    with plt.rc_context(rc):
        fig, (hours_ax, cats_ax) = plt.subplots(
            1,
            2,
            figsize=(WIDTH_IN, HEIGHT_IN),
            dpi=DPI,
            gridspec_kw={"width_ratios": [3, 2]},
        )
        try:
            _hours(hours_ax, h, lang)
            _categories(cats_ax, h, lang)
            start, end = h.start.astimezone(h.tz), h.end.astimezone(h.tz)
            span = f"{start:%Y-%m-%d %H:%M}–{end:%H:%M} {end:%Z}"
            team = h.team or label(lang, "all_teams")
            fig.suptitle(f"{label(lang, 'title')} — {team} — {span}", fontsize=FONT_SIZE + 2)
            fig.tight_layout()
            path.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(path, dpi=DPI, format="png")
        finally:
            plt.close(fig)
    return path


def _hours(ax: Any, h: Handoff, lang: str) -> None:
    xs = list(range(len(h.hourly)))
    bottom = [0] * len(xs)
    for i, priority in enumerate(PRIORITIES):
        values = [b.counts[i] for b in h.hourly]
        ax.bar(
            xs,
            values,
            bottom=bottom,
            color=PRIORITY_COLOURS[priority],
            label=priority,
            width=0.8,
        )
        bottom = [a + b for a, b in zip(bottom, values, strict=True)]
    ax.set_xticks(xs)
    ax.set_xticklabels([f"{b.start.astimezone(h.tz):%H}" for b in h.hourly])
    ax.set_xlabel(label(lang, "chart_hour", zone=f"{h.end.astimezone(h.tz):%Z}"))
    ax.set_ylabel(label(lang, "chart_tickets"))
    ax.set_title(label(lang, "chart_hourly"))
    ax.set_ylim(0, max([*bottom, 1]) * 1.15)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend(loc="upper left", ncols=4, frameon=False)


def _categories(ax: Any, h: Handoff, lang: str) -> None:
    ax.set_title(label(lang, "chart_categories"))
    ax.set_xlabel(label(lang, "chart_tickets"))
    cats = list(reversed(h.categories))
    if not cats:
        ax.set_yticks([])
        ax.text(0.5, 0.5, "—", ha="center", va="center", transform=ax.transAxes)
        return
    ys = list(range(len(cats)))
    ax.barh(ys, [c.count for c in cats], color="#4c72b0", label=label(lang, "chart_tickets"))
    averages = [(y, c.trend_avg) for y, c in zip(ys, cats, strict=True) if c.trend_avg is not None]
    if averages:
        ax.scatter(
            [a for _, a in averages],
            [y for y, _ in averages],
            marker="|",
            s=300,
            color="black",
            zorder=3,
            label=label(lang, "vs_avg", avg="").strip(),
        )
        ax.legend(loc="lower right", frameon=False)
    ax.set_yticks(ys)
    ax.set_yticklabels([c.category for c in cats])
    top = max([c.count for c in cats] + [a for _, a in averages] + [1])
    ax.set_xlim(0, top * 1.15)
    ax.xaxis.get_major_locator().set_params(integer=True)
