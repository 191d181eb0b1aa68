"""The CP-SAT variables of the single-scenario model, in one container the constraint families read.

Kept apart from the model builder (solver.plan.cpsat_model) so that the families can name the type
without importing the builder, and neither imports ortools at module level.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from solver.plan.options import Option, Shape


@dataclass
class PlanVars:
    model: Any
    model_cls: Any  # the cp_model module (LinearExpr & co.), so families need not import ortools
    shapes: list[Shape]
    options: list[Option]
    y: list[Any]
    z: list[Any]
    R: Any  # replicas (IntVar)
    S: Any  # servers used (IntVar)
    active: set[str] = field(default_factory=set)  # families in force for this scenario
    lits: dict[str, Any] = field(default_factory=dict)  # explain mode: each family's enforcement literal
