"""Scenarios from YAML files and from command-line flags that mirror the Scenario fields."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from solver.errors import ScenarioError
from solver.schema.scenario import Scenario


def load_scenario_file(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8-sig"))
    except OSError as e:
        raise ScenarioError(f"{p}: cannot read: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise ScenarioError(f"{p}: not UTF-8 text (byte 0x{e.object[e.start]:02x} at offset {e.start}); save it as UTF-8") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise ScenarioError(f"{p}{f':{mark.line + 1}' if mark else ''}: not valid YAML: {getattr(e, 'problem', e)}") from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{p}: a scenario file is a mapping of fields ({', '.join(list(Scenario.model_fields)[:6])}, ...)")
    return data


def split_list(value: str) -> list[str]:
    return [x.strip() for x in str(value).split(",") if x.strip()]
