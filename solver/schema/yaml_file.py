"""Reading a user's YAML file, with errors that name the file, the line and the bad byte."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from solver.errors import GpuplanError


def read_yaml(path: str | Path, error: type[GpuplanError] = GpuplanError) -> Any:
    """The parsed document (None for an empty file); `error` (exit 2) when it cannot be read, is not
    UTF-8 or is not valid YAML."""
    p = Path(path)
    try:
        return yaml.safe_load(p.read_text(encoding="utf-8-sig"))
    except OSError as e:
        raise error(f"{p}: cannot read: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise error(f"{p}: not UTF-8 text (byte 0x{e.object[e.start]:02x} at offset {e.start}); save it as UTF-8") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise error(f"{p}{f':{mark.line + 1}' if mark else ''}: not valid YAML: {getattr(e, 'problem', e)}") from None
