"""One answer a buyer can act on, and a front that fits a screen.

**The speed floor.**  A scenario without any speed target (per-user speed, TPOT, TTFT, total
throughput) would accept a configuration that streams slower than anyone reads.  It gets a floor
of READING_TOKENS_PER_S per user, with a warning: 238 words per minute, the mean silent reading rate
of adults for non-fiction (Brysbaert 2019, "How many words do we read per minute? A review and
meta-analysis of reading rate", Journal of Memory and Language 109, 104047), x 4/3 tokens per word
(OpenAI, "What are tokens and how to count them?": a token is about 3/4 of an English word) = 5.3
tokens/s.  The user lowers it with min_tokens_per_s_per_user (0: no floor).

**The recommendation** (`recommend`): the cheapest configuration of the front that meets every
service target with HEADROOM to spare — TPOT and TTFT at most 80% of their limit, per-user and total
speed at least 120% of their floor (the speed floor above counts as a target) — so that a longer
prompt, a burst or a prediction at the edge of its error band does not break the service.  When no
configuration has that headroom, the knee of the front: the point farthest from the straight line
between the cheapest and the fastest, in log cost and log throughput (where more money starts to buy
little).  Without prices, "cheapest" reads "fewest GPUs".

**The front shown** (`shown_front`): walking the front in ascending cost, a point *pays* when its
throughput over the last paying point's grows at a log-log slope of at least MIN_ELASTICITY = 0.3
against the cost (doubling the cost buys at least 23% more); the front is cut at the first point that
costs more than twice the last paying one while nothing since has paid (`cut_position`).  Of the points
before the cut at most MAX_SHOWN are shown, spread evenly in log cost, always keeping the cheapest, the
last and the recommendation.  The planner stops its Pareto loop there too (and at the recommendation,
if later); `full_front` computes and shows all of it.
"""

from __future__ import annotations

import math

from solver.schema.scenario import Scenario

READING_TOKENS_PER_S = round(238 / 60 * 4 / 3, 1)  # 5.3: see the module docstring
HEADROOM = 0.2
MIN_ELASTICITY = 0.3
MAX_SHOWN = 8
SPEED_TARGETS = ("min_tokens_per_s_per_user", "max_tpot_ms", "max_ttft_ms", "min_total_tokens_per_s")


def with_speed_floor(sc: Scenario) -> tuple[Scenario, list[str]]:
    """The scenario with the reading-speed floor when it states no speed target, and the warning."""
    if any(getattr(sc, f) is not None for f in SPEED_TARGETS):
        return sc, []
    warning = (f"no speed target given: assumed each user needs at least {READING_TOKENS_PER_S} tokens/s (a reading "
               "speed: 238 words/min, Brysbaert 2019, x 4/3 tokens per word); set min_tokens_per_s_per_user "
               "(--min-tokens-per-s-per-user) to change it, 0 for none")
    return sc.model_copy(update={"min_tokens_per_s_per_user": READING_TOKENS_PER_S}), [warning]


def _cost(c: dict) -> float:
    return c["cost_per_hour"] if c["cost_per_hour"] is not None else float(c["gpus"])


def has_headroom(c: dict, sc: Scenario, headroom: float = HEADROOM) -> bool:
    """Every service target met with `headroom` to spare."""
    checks = []
    if sc.max_tpot_ms is not None:
        checks.append(c["tpot_ms"] <= (1 - headroom) * sc.max_tpot_ms)
    if sc.max_ttft_ms is not None:
        checks.append(c["ttft_ms"] <= (1 - headroom) * sc.max_ttft_ms)
    if sc.min_tokens_per_s_per_user:
        checks.append(c["output_tokens_per_s_per_user"] >= (1 + headroom) * sc.min_tokens_per_s_per_user)
    if sc.min_total_tokens_per_s is not None:
        checks.append(c["output_tokens_per_s"] >= (1 + headroom) * sc.min_total_tokens_per_s)
    return all(checks)


def knee(front: list[dict]) -> int:
    """Index of the point farthest above the chord from the cheapest to the most capable, in log cost
    and log throughput (each scaled to [0, 1] over the front)."""
    if len(front) <= 2:
        return 0
    xs = [math.log(_cost(c)) for c in front]
    ys = [math.log(max(c["output_tokens_per_s"], 1e-9)) for c in front]
    span_x, span_y = (max(xs) - min(xs)) or 1.0, (max(ys) - min(ys)) or 1.0
    a, b = min(range(len(front)), key=lambda i: (xs[i], -ys[i])), max(range(len(front)), key=lambda i: (ys[i], -xs[i]))
    ax, ay, bx, by = (xs[a] - min(xs)) / span_x, (ys[a] - min(ys)) / span_y, (xs[b] - min(xs)) / span_x, (ys[b] - min(ys)) / span_y

    def above(i: int) -> float:  # signed distance to the chord, positive above it (more throughput for the cost)
        x, y = (xs[i] - min(xs)) / span_x, (ys[i] - min(ys)) / span_y
        return ((bx - ax) * (y - ay) - (by - ay) * (x - ax)) / (math.hypot(bx - ax, by - ay) or 1.0)

    return max(range(len(front)), key=lambda i: (round(above(i), 12), -xs[i]))


def recommend_index(front: list[dict], sc: Scenario) -> tuple[int, str]:
    """(index into `front`, the rule that chose it)."""
    order = sorted(range(len(front)), key=lambda i: (_cost(front[i]), -front[i]["output_tokens_per_s"]))
    for i in order:
        if has_headroom(front[i], sc):
            return i, f"the cheapest configuration meeting every service target with {HEADROOM:.0%} to spare"
    return knee(front), (f"no configuration meets the targets with {HEADROOM:.0%} to spare: the knee of the front, where "
                         "more cost starts to buy little throughput")


def cut_position(front: list[dict]) -> int | None:
    """Index of the first point past the default cut of a front in ascending cost (see the module
    docstring), or None when the points given do not reach it."""
    if not front:
        return None
    anchor = 0
    for i in range(1, len(front)):
        ca, ci = _cost(front[anchor]), _cost(front[i])
        ta, ti = max(front[anchor]["output_tokens_per_s"], 1e-9), front[i]["output_tokens_per_s"]
        if ci > ca > 0 and ti > ta and math.log(ti / ta) / math.log(ci / ca) >= MIN_ELASTICITY:
            anchor = i
        elif ci > 2 * ca:
            return i
    return None


def shown_front(front: list[dict], keep: int) -> list[int]:
    """Indices of the configurations shown by default (see the module docstring); `front` is sorted by
    cost, `keep` (the recommendation) is always among them."""
    n = len(front)
    if n <= 1:
        return list(range(n))
    stop = cut_position(front)
    kept = list(range(max(n if stop is None else stop, keep + 1)))
    if len(kept) <= MAX_SHOWN:
        return kept
    cost = [_cost(c) for c in front]
    must = {0, kept[-1], keep}
    logs = [math.log(max(cost[i], 1e-9)) for i in kept]
    lo, hi = logs[0], logs[-1]
    chosen = set(must)
    free = MAX_SHOWN - len(chosen)
    for k in range(free):
        target = lo + (hi - lo) * (k + 1) / (free + 1)
        rest = [i for i in kept if i not in chosen]
        if not rest:
            break
        chosen.add(min(rest, key=lambda i: (abs(logs[kept.index(i)] - target), i)))
    return sorted(chosen)


def _duration(ms: float) -> str:
    return f"{ms / 1000:.1f} s" if ms >= 1000 else f"{ms:.0f} ms"


def recommendation(c: dict, rule: str, sc: Scenario, catalog, model, warnings: list[str]) -> dict:
    """The recommended configuration in words, with its launch command and what it rests on."""
    from solver.plan.launch import launch_command

    server, gpu, engine = catalog.servers[c["server"]], catalog.gpus[c["gpu"]], catalog.engines[c["engine"]]
    buying = catalog.pricing is not None and catalog.pricing.mode == "buy"
    cur = c["currency"]
    cost = (f"{c['cost_per_hour']:,.2f} {cur}/h ({c['cost_per_month']:,.0f} {cur}/month"
            + (", purchase amortised plus power)" if buying else ")")) if c["cost_per_hour"] is not None \
        else f"no {sc.currency} price in the catalog"
    layout = f"TP{c['tp']}" + (f" PP{c['pp']}" if c["pp"] > 1 else "") + (f" EP{c['ep']}" if c.get("ep", 1) > 1 else "")
    lo, hi = c["range"]["tpot_ms"]
    link = "" if server.gpu_count == 1 else f", {c['interconnect']}"
    text = (f"{'Buy' if buying else 'Rent'} {c['servers']} x {server.name} ({server.provider}; {server.gpu_count} x "
            f"{gpu.name} each{link}) for {cost}.  Run {engine.name} {layout}: {c['deployment']}.  "
            f"It serves {c['users_served']:,} users at once at "
            f"{c['output_tokens_per_s_per_user']:.1f} tokens/s each ({c['output_tokens_per_s']:,.0f} tokens/s in all; "
            f"TPOT {c['tpot_ms']:.1f} ms, likely {lo:.1f}-{hi:.1f}), first token after {_duration(c['ttft_ms'])}."
            + (f"  {c['idle_gpus']} rented GPU(s) stay idle." if c.get("idle_gpus") else ""))
    prompt = " (the whole context less the answer: no input_tokens given)" if sc.input_tokens is None else ""
    assumptions = [
        f"prompts of {sc.prompt_tokens:,} tokens{prompt}, answers of {sc.output_tokens:,} tokens, "
        f"at most {sc.context_tokens:,} tokens per sequence",
        f"{sc.precision.value} weights ({c['precision_path']} path), {c['kv_precision']} KV cache",
        f"{c['running_per_replica']} requests run at once per replica (the engine's limit or what its KV cache holds; "
        "the others queue)",
        f"speed predicted with an error band {c['range']['band']} on this GPU class"
        + ("" if c["range"]["band"] == "measured" else " (no serving measurement: the band is widened)"),
        *warnings, *c["notes"],
    ]
    command, notes = launch_command(engine, c, sc.context_tokens, model)
    return {"rule": rule, "config": {k: c[k] for k in ("gpu", "gpus", "server", "servers", "engine", "tp", "pp", "ep",
                                                          "replicas", "cost_per_hour", "currency")},
            "text": text, "command": command, "command_notes": notes, "assumptions": assumptions,
            "unverified": c["unverified"]}


def head_is_enough(found: list[dict], sc: Scenario) -> bool:
    """Whether a front computed in ascending cost (`found`, the points so far) already holds every
    point shown_front would show: the cut is reached and, when there are service targets, a point with
    the headroom the recommendation needs was found."""
    return cut_position(found) is not None and any(has_headroom(c, sc) for c in found)
