"""Scenarios from YAML files and from command-line flags that mirror the Scenario fields."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from solver.errors import ScenarioError
from solver.schema.scenario import Scenario
from solver.schema.yaml_file import read_yaml


def load_scenario_file(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    data = read_yaml(p, ScenarioError)
    if not isinstance(data, dict):
        raise ScenarioError(f"{p}: a scenario file is a mapping of fields ({', '.join(list(Scenario.model_fields)[:6])}, ...)")
    return data


def split_list(value: str) -> list[str]:
    return [x.strip() for x in str(value).split(",") if x.strip()]
