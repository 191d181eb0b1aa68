"""The command that starts a planned replica: the engine's launch template (catalog `engines[].launch`)
filled with what the plan assumed — TP/PP/EP, the longest sequence, the requests run at once, the
memory fraction, the KV-cache format."""

from __future__ import annotations

import shlex

from solver.schema.engine import Engine
from solver.schema.llm import LlmModel


def launch_command(engine: Engine, config: dict, context_tokens: int, model: LlmModel) -> tuple[str | None, list[str]]:
    """(command, notes) for one replica of `config` (a front entry); (None, [why]) for an engine with
    no launch template.  Values the plan assumed: TP/PP/EP and KV format from the configuration, the
    context from the scenario, the requests one replica runs at once (the others queue)."""
    la = engine.launch
    if la is None:
        return None, [f"{engine.name}: no launch template in the catalog"]
    name = model.hf_repo or model.id
    knobs: list[tuple[str, object | None]] = []
    notes: list[str] = []
    missing = []
    for what, flag, degree in (("TP", la.tp, config["tp"]), ("PP", la.pp, config["pp"])):
        if degree > 1:
            if flag:
                knobs.append((flag, degree))
            else:
                missing.append(what)
    if missing:
        notes.append(f"{engine.name} has no flag for {' and '.join(missing)} in the catalog's template")
    if config.get("ep", 1) > 1 and la.ep:
        knobs.append((la.ep, config["ep"] if la.ep_takes_degree else None))
    running = config["running_per_replica"]
    if la.context:
        knobs.append((la.context, context_tokens * running if la.context_is_total else context_tokens))
    if la.running:
        knobs.append((la.running, running))
    if la.memory_fraction and engine.memory.fraction is not None:
        knobs.append((la.memory_fraction, engine.memory.fraction))
    if config["kv_precision"] == "fp8":
        if la.kv_fp8:
            knobs.append((la.kv_fp8, None))
        else:
            notes.append(f"FP8 KV cache: {engine.name} sets it outside the command line")
    if la.env:
        env = " ".join(f"{f}={v}" if v is not None else f for f, v in knobs)
        cmd = f"{env} {la.command}".strip()
    else:
        parts = [la.command.format(model=shlex.quote(name))] + [f"{f} {v}" if v is not None else f for f, v in knobs]
        cmd = " ".join(parts + ([la.extra] if la.extra else []))
    cmd = cmd.replace("{model}", shlex.quote(name))
    if la.note:
        notes.append(la.note.replace("{model}", name))
    if config["replicas"] > 1:
        notes.append(f"run it once per replica ({config['replicas']} replicas of {config['gpus_per_replica']} GPU(s)) "
                     "behind a load balancer")
    if config.get("deployment_option") == "E":
        notes.append(f"one replica spans {config['servers'] // max(config['replicas'], 1)} servers: start it with "
                     f"{engine.name}'s multi-node options (see its documentation)")
    if la.unverified:
        notes.append("flags recalled from the engine's documentation: check them against your version")
    return cmd, notes
