"""Figures of a plan for people: the front on a log cost axis, every point labelled without overlap,
the recommendation marked.  Used by `gpuplan solve --plot`, the HTML reports and notebooks
(`solver.plot_front`)."""

from __future__ import annotations

import math

#: label offsets (points) tried in turn for each label, nearest first
OFFSETS = [(6, 6), (6, -14), (-6, 8), (-6, -14), (8, 18), (8, -26), (-8, 20), (-8, -28)]


def pyplot():
    """matplotlib's pyplot, headless, deterministic SVG ids, names shown as written ("$" is not TeX)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.hashsalt"] = "gpuplan"
    plt.rcParams["svg.fonttype"] = "none"
    plt.rcParams["text.parse_math"] = False
    return plt


def place_labels(ax, points: list[tuple[float, float]], labels: list[str], fontsize: float = 7) -> None:
    """Annotate each point, choosing for each label the first offset whose box overlaps no label placed
    before it (greedy; a label that fits nowhere takes the first offset)."""
    fig = ax.figure
    fig.canvas.draw()
    placed = []
    for (x, y), text in zip(points, labels, strict=True):
        best = None
        for dx, dy in OFFSETS:
            ann = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=fontsize,
                              ha="left" if dx > 0 else "right", va="bottom" if dy > 0 else "top")
            box = ann.get_window_extent(renderer=fig.canvas.get_renderer()).expanded(1.05, 1.1)
            if not any(box.overlaps(b) for b in placed):
                best = (ann, box)
                break
            ann.remove()
        if best is None:
            dx, dy = OFFSETS[0]
            ann = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=fontsize)
            best = (ann, ann.get_window_extent(renderer=fig.canvas.get_renderer()))
        placed.append(best[1])


def front_figure(front: list[dict], title: str, size: tuple[float, float] = (9, 5.5), fontsize: float = 7):
    """Cost (log axis, with its currency) or, unpriced, TPOT against output tokens/s; the recommended
    configuration drawn as a star."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=size)
    priced = all(c["cost_per_hour"] is not None for c in front)
    xs = [c["cost_per_hour"] if priced else c["tpot_ms"] for c in front]
    ys = [c["output_tokens_per_s"] for c in front]
    order = sorted(range(len(front)), key=lambda i: xs[i])
    ax.plot([xs[i] for i in order], [ys[i] for i in order], "o-", color="#1f6feb", markersize=4, zorder=2)
    rec = [i for i, c in enumerate(front) if c.get("recommended")]
    if rec:
        ax.plot([xs[i] for i in rec], [ys[i] for i in rec], "*", color="#cf222e", markersize=14, zorder=3,
                label="recommended")
        ax.legend(loc="lower right", fontsize=fontsize)
    if priced and log_ticks_ok(xs):
        from matplotlib.ticker import FuncFormatter

        ax.set_xscale("log")
        plain = FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 10 else f"{v:g}")  # not TeX: parse_math is off
        ax.xaxis.set_major_formatter(plain)
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: plain(v) if round(v / 10 ** math.floor(math.log10(v))) in (2, 5) else ""))
    labels = [f"{c['gpus']}x {c['gpu'].split('-')[0]} {c['engine']}\nTP{c['tp']} x{c['replicas']}" for c in front]
    place_labels(ax, list(zip(xs, ys, strict=True)), labels, fontsize)
    currency = next((c["currency"] for c in front if c["currency"]), "")
    ax.set_xlabel(f"cost per hour ({currency}, log scale)" if priced and ax.get_xscale() == "log"
                  else f"cost per hour ({currency})" if priced else "TPOT (ms)", fontsize=fontsize + 1)
    ax.set_ylabel("output tokens/s, all users", fontsize=fontsize + 1)
    ax.set_title(title, fontsize=fontsize + 2)
    ax.grid(alpha=0.3, which="both")
    ax.margins(x=0.12, y=0.12)
    fig.tight_layout()
    return fig


def plot_front(plan, path: str | None = None):
    """The plan's front as a figure; saved to `path` (PNG or SVG) when given.  Returns the figure."""
    from solver.io.files import writing

    sc = plan.scenario
    fig = front_figure(plan.front, f"Pareto front: {plan.model.id}, {sc.users:,} users, {sc.precision.value}, "
                                   f"context {sc.context_tokens:,}")
    if path:
        with writing(path):
            fig.savefig(path, metadata={"Software": None} if str(path).endswith(".png") else None)
    return fig


def log_ticks_ok(values: list[float]) -> bool:
    """Whether a log axis suits these values (all positive, spanning more than 3x)."""
    return bool(values) and min(values) > 0 and max(values) / min(values) > 3 and all(math.isfinite(v) for v in values)
