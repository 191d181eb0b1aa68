"""Write the expected objective values of the golden scenarios in tests/plan/scenarios/ (regression pins).

Run after a deliberate change of the catalog, the calibration or the model, review the diff, commit:
    python tools/pin_goldens.py
Scenarios whose `expect` states an infeasibility are left as written.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from solver.plan.planner import solve
from solver.schema.catalog import load_catalog
from solver.schema.scenario import Scenario

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    cat = load_catalog()
    for path in sorted((ROOT / "tests" / "plan" / "scenarios").glob("*.yaml")):
        text = path.read_text()
        doc = yaml.safe_load(text)
        if doc.get("expect", {}).get("status") == "infeasible":
            continue
        plan = solve(Scenario(**doc["scenario"], full_front=True), cat)
        front = [{"cost_per_hour": c["cost_per_hour"], "output_tokens_per_s": c["output_tokens_per_s"],
                  "tpot_ms": c["tpot_ms"], "ttft_ms": c["ttft_ms"], "config": f"{c['servers']}x {c['server']} {c['engine']} TP{c['tp']} PP{c['pp']} x{c['replicas']}"}
                 for c in plan.front]
        head = text.split("\nexpect:")[0].split("# expected values pinned")[0].rstrip() + "\n"
        body = yaml.safe_dump({"expect": {"status": plan.status, "front": front}}, sort_keys=False, width=200)
        path.write_text(head + "# expected values pinned by tools/pin_goldens.py\n" + body)
        print(f"{path.name}: {plan.status}, {len(front)} configurations")


if __name__ == "__main__":
    main()
