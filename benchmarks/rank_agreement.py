"""Rank agreement (Spearman) of predicted vs measured throughput within groups of configurations.

Both accuracy benchmarks ask the planner's question of the model — does it order the configurations
of one workload as the measurements do? — so they share this summary.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable


def rank_agreement(groups: Iterable[list[dict]], predicted: str, measured: str, min_size: int, count_key: str) -> dict:
    """Spearman's rho per group of at least `min_size` items whose predicted and measured values both
    vary (rho is undefined otherwise), summarised: {count_key: groups scored, "mean", "median"}."""
    from scipy.stats import spearmanr

    rhos = []
    for items in groups:
        xs, ys = [x[predicted] for x in items], [x[measured] for x in items]
        if len(items) >= min_size and len(set(xs)) > 1 and len(set(ys)) > 1:
            rho = float(spearmanr(xs, ys).statistic)
            if not math.isnan(rho):
                rhos.append(rho)
    return {count_key: len(rhos),
            "mean": round(statistics.mean(rhos), 3) if rhos else None,
            "median": round(statistics.median(rhos), 3) if rhos else None}
