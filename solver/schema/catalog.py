"""Load the built-in catalog and user overlays, merge them by id, and validate the result as a whole.

An overlay file has the same shape as the built-in files: top-level sections (`gpus`, `servers`,
`engines`, `models`, `calibration`) holding lists of entries.  An entry whose id exists overrides
the fields it names (mappings merge recursively, lists and scalars replace); a new id adds an entry;
`remove: true` drops one.  Every problem names the file, the entry, the field and the line.
"""

from __future__ import annotations

import copy
import typing
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import AliasChoices, BaseModel, ValidationError

from solver.errors import CatalogError, UnknownIdError, suggestion
from solver.schema.calibration import PerfFactors
from solver.schema.engine import Engine
from solver.schema.hardware import Gpu, Server
from solver.schema.llm import LlmModel
from solver.schema.pricing import ExchangeRate, PricingPolicy

SECTIONS: dict[str, type[BaseModel]] = {
    "gpus": Gpu,
    "servers": Server,
    "engines": Engine,
    "models": LlmModel,
    "calibration": PerfFactors,
    "pricing": PricingPolicy,
    "exchange_rates": ExchangeRate,
}
BUILTIN_FILES = ("gpus.yaml", "servers.yaml", "engines.yaml", "models.yaml", "calibration.yaml")


@dataclass
class _Raw:
    """Entries of one section before validation, with where each field was last set."""

    data: dict[str, dict[str, Any]] = field(default_factory=dict)
    where: dict[str, dict[str, tuple[str, int]]] = field(default_factory=dict)  # id -> field -> (file, line)


def _line_map(node: yaml.Node) -> dict[tuple, int]:
    """(path tuple) -> 1-based line, for every mapping key and sequence item in a composed YAML tree."""
    out: dict[tuple, int] = {}

    def walk(n: yaml.Node, path: tuple) -> None:
        out[path] = n.start_mark.line + 1
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                key = k.value
                out[path + (key,)] = k.start_mark.line + 1
                walk(v, path + (key,))
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                walk(v, path + (i,))

    walk(node, ())
    return out


def _deep_merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _iter_overlay_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    for p in paths:
        p = Path(p)
        if p.is_dir():
            yield from sorted(x for x in p.iterdir() if x.suffix in (".yaml", ".yml"))
        elif p.exists():
            yield p
        else:
            raise CatalogError([f"{p}: no such file or directory"])


class Catalog:
    """The merged, validated catalog with alias-aware lookups."""

    def __init__(self, gpus: list[Gpu], servers: list[Server], engines: list[Engine], models: list[LlmModel],
                 calibration: list[PerfFactors], files: list[str], pricing: list[PricingPolicy] | None = None,
                 exchange_rates: list[ExchangeRate] | None = None):
        self.gpus = {g.id: g for g in gpus}
        self.servers = {s.id: s for s in servers}
        #: the servers carrying each GPU, in catalog order: estimate.default_server runs once per estimate,
        #: and scanning all 170 built-in servers there took 11 of an estimate's 42 us
        self.servers_by_gpu: dict[str, list[Server]] = {}
        for s in servers:
            self.servers_by_gpu.setdefault(s.gpu, []).append(s)
        self.engines = {e.id: e for e in engines}
        self.models = {m.id: m for m in models}
        self.calibration = {c.id: c for c in calibration}
        self.pricing = {p.id: p for p in (pricing or [])}.get("default")
        self.exchange_rates = {r.id: r for r in (exchange_rates or [])}
        self.files = files
        #: values computed from the entries (solver.predict.attainable.sibling_widening), kept per catalog
        self.derived: dict[tuple, Any] = {}
        self._alias: dict[str, dict[str, str]] = {}
        for kind, items in (("gpu", self.gpus), ("server", self.servers), ("engine", self.engines), ("model", self.models)):
            table: dict[str, str] = {}
            for item_id, item in items.items():
                names = [item_id, *getattr(item, "aliases", [])]
                if kind == "model" and item.hf_repo:
                    names.append(item.hf_repo)
                for n in names:
                    table.setdefault(n.lower(), item_id)
            self._alias[kind] = table

    def _resolve(self, kind: str, name: str, items: dict) -> Any:
        key = str(name).strip().lower()
        if key in self._alias[kind]:
            return items[self._alias[kind][key]]
        valid = list(items) + [a for a in self._alias[kind] if a not in items]
        raise UnknownIdError(kind, name, valid)

    def gpu(self, name: str) -> Gpu:
        return self._resolve("gpu", name, self.gpus)

    def server(self, name: str) -> Server:
        return self._resolve("server", name, self.servers)

    def engine(self, name: str) -> Engine:
        return self._resolve("engine", name, self.engines)

    def model(self, name: str) -> LlmModel:
        return self._resolve("model", name, self.models)

    def factors(self, engine: str, gpu_class: str) -> tuple[PerfFactors, bool]:
        """Calibrated factors for (engine, class), falling back to wildcards; bool = exact match."""
        for key in (f"{engine}@{gpu_class}", f"{engine}@*", f"*@{gpu_class}", "*@*"):
            if key in self.calibration:
                return self.calibration[key], key == f"{engine}@{gpu_class}"
        raise CatalogError(["calibration: no '*@*' default entry; the performance model needs one"])


def _current_names(model: type[BaseModel], entry: dict, where: dict) -> tuple[dict, dict]:
    """The entry with a field's former name (an AliasChoices alternative, e.g. a calibration overlay's
    prefill_overhead_ms) written as its current one, so that it merges onto the entry it overrides."""
    renames = {alt: name for name, f in model.model_fields.items() if isinstance(f.validation_alias, AliasChoices)
               for alt in f.validation_alias.choices if alt != name and alt in entry and name not in entry}
    if not renames:
        return entry, where
    return ({renames.get(k, k): v for k, v in entry.items()},
            {".".join([renames.get(k.split(".")[0], k.split(".")[0]), *k.split(".")[1:]]): w for k, w in where.items()})


def _load_raw(raws: dict[str, _Raw], text: str, fname: str, builtin: bool, problems: list[str]) -> None:
    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
        try:
            node = loader.get_single_node()
            doc = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problems.append(f"{fname}{line}: not valid YAML: {getattr(e, 'problem', e)}")
        return
    if doc is None or node is None:
        return
    if not isinstance(doc, dict):
        problems.append(f"{fname}:1: top level must be a mapping of sections ({', '.join(SECTIONS)})")
        return
    lines = _line_map(node)
    fields_at: dict[tuple, dict[str, tuple[str, int]]] = {}  # (section, entry index) -> field path -> (file, line)
    for path, line in lines.items():
        if len(path) > 2:
            fields_at.setdefault(path[:2], {})[".".join(map(str, path[2:]))] = (fname, line)
    for section, entries in doc.items():
        if section not in SECTIONS:
            problems.append(f"{fname}:{lines.get((section,), 1)}: unknown section '{section}'.{suggestion(str(section), SECTIONS)}")
            continue
        if not isinstance(entries, list):
            problems.append(f"{fname}:{lines.get((section,), 1)}: section '{section}' must be a list of entries")
            continue
        raw = raws[section]
        seen: set[str] = set()
        for i, entry in enumerate(entries):
            eline = lines.get((section, i), 1)
            if not isinstance(entry, dict) or "id" not in entry:
                problems.append(f"{fname}:{eline}: {section}[{i}]: every entry needs an 'id'")
                continue
            eid = str(entry["id"])
            if eid in seen:
                problems.append(f"{fname}:{eline}: {section}[id={eid}]: duplicate id in this file")
                continue
            seen.add(eid)
            if entry.get("remove") is True:
                if eid not in raw.data:
                    problems.append(f"{fname}:{eline}: {section}[id={eid}]: cannot remove, no such entry.{suggestion(eid, raw.data)}")
                else:
                    del raw.data[eid]
                    del raw.where[eid]
                continue
            where = dict(fields_at.get((section, i), {}))
            where["__entry__"] = (fname, eline)
            entry, where = _current_names(SECTIONS[section], entry, where)
            if eid in raw.data and not builtin:
                raw.data[eid] = _deep_merge(raw.data[eid], entry)
                raw.where[eid].update(where)
            else:
                raw.data[eid] = copy.deepcopy(entry)
                raw.where[eid] = where


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model an annotation holds (itself, or inside Optional / list / dict), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _fields_at(model: type[BaseModel], path: tuple) -> list[str]:
    """The field names of the model nested at `path` (a validation error's loc without its last key),
    so an unknown nested field gets the nearest valid name too; [] where no model is nested there."""
    cur: type[BaseModel] | None = model
    for key in path:
        if isinstance(key, int):  # a list index: the list's model is already `cur`
            continue
        f = cur.model_fields.get(str(key)) if cur is not None else None
        if f is None:
            return []
        cur = _model_in(f.annotation)
    return list(cur.model_fields) if cur is not None else []


def _format_validation(section: str, eid: str, err: ValidationError, where: dict, model: type[BaseModel]) -> list[str]:
    out = []
    for e in err.errors():
        loc = e["loc"]
        fname, line = where["__entry__"]
        for n in range(len(loc), 0, -1):
            key = ".".join(map(str, loc[:n]))
            if key in where:
                fname, line = where[key]
                break
        path = ".".join(str(x) for x in loc) or "(entry)"
        msg = e["msg"]
        hint = ""
        if e["type"] == "extra_forbidden":
            msg = "unknown field"
            hint = suggestion(str(loc[-1]), _fields_at(model, loc[:-1]))
        elif e["type"] == "missing":
            msg = "required field is missing"
        elif "expected" in (e.get("ctx") or {}):
            got = e.get("input")
            expected = [x.strip(" '\"") for x in str(e["ctx"]["expected"]).replace(" or ", ",").split(",")]
            hint = suggestion(str(got), [x for x in expected if x])
        # an entry-level rule's input is the whole entry: its message already names the values
        got = ("" if e["type"] in ("missing", "extra_forbidden") or not loc or isinstance(e.get("input"), dict)
               else f" (got {e.get('input')!r})")
        out.append(f"{fname}:{line}: {section}[id={eid}].{path}: {msg}{got}.{hint}".replace("..", "."))
    return out


def load_catalog(overlays: Sequence[str | Path] = (), builtin: bool = True) -> Catalog:
    """Built-in catalog, then each overlay (file or folder) in order; validated as a whole."""
    raws = {s: _Raw() for s in SECTIONS}
    problems: list[str] = []
    files: list[str] = []
    if builtin:
        pkg = resources.files("catalog")
        for name in BUILTIN_FILES:
            res = pkg / name
            if res.is_file():
                _load_raw(raws, res.read_text(encoding="utf-8"), f"catalog/{name}", True, problems)
                files.append(f"catalog/{name}")
    for path in _iter_overlay_files(overlays):
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as e:
            problems.append(f"{path}: not UTF-8 text (byte 0x{e.object[e.start]:02x} at offset {e.start}); save it as UTF-8")
            continue
        except OSError as e:
            problems.append(f"{path}: cannot read: {e.strerror or e}")
            continue
        _load_raw(raws, text, str(path), False, problems)
        files.append(str(path))
    validated: dict[str, list] = {s: [] for s in SECTIONS}
    for section, model in SECTIONS.items():
        for eid, data in raws[section].data.items():
            where = raws[section].where[eid]
            try:
                validated[section].append(model.model_validate(data))
            except ValidationError as err:
                problems.extend(_format_validation(section, eid, err, where, model))
    _check_references(validated, raws, problems)
    if problems:
        raise CatalogError(problems)
    return Catalog(validated["gpus"], validated["servers"], validated["engines"], validated["models"],
                   validated["calibration"], files, validated["pricing"], validated["exchange_rates"])


def _check_references(v: dict[str, list], raws: dict[str, _Raw], problems: list[str]) -> None:
    # ids of every entry, valid or not: an entry that failed validation is reported once, not again
    # as a dangling reference from each entry that names it
    gpu_ids = set(raws["gpus"].data)
    engine_ids = set(raws["engines"].data)
    for s in v["servers"]:
        if s.gpu not in gpu_ids:
            fname, line = raws["servers"].where[s.id].get("gpu", raws["servers"].where[s.id]["__entry__"])
            problems.append(f"{fname}:{line}: servers[id={s.id}].gpu: no GPU '{s.gpu}' in the catalog.{suggestion(s.gpu, gpu_ids)}")
    from solver.schema.hardware import COMPAT_KEYS

    for p in v["pricing"]:
        if p.id != "default":
            fname, line = raws["pricing"].where[p.id]["__entry__"]
            problems.append(f"{fname}:{line}: pricing[id={p.id}]: the pricing entry's id must be 'default'")
    gpus = {g.id: g for g in v["gpus"]}
    for c in v["calibration"]:
        w = raws["calibration"].where[c.id]
        if c.engine != "*" and c.engine not in engine_ids:
            fname, line = w.get("engine", w["__entry__"])
            problems.append(f"{fname}:{line}: calibration[id={c.id}].engine: no engine '{c.engine}'.{suggestion(c.engine, engine_ids)}")
        if c.gpu_class != "*" and c.gpu_class not in COMPAT_KEYS:
            fname, line = w.get("gpu_class", w["__entry__"])
            problems.append(f"{fname}:{line}: calibration[id={c.id}].gpu_class: unknown class '{c.gpu_class}'.{suggestion(c.gpu_class, COMPAT_KEYS)}")
        for g in c.burst_factor_by_gpu:
            fname, line = w.get("burst_factor_by_gpu", w["__entry__"])
            where = f"{fname}:{line}: calibration[id={c.id}].burst_factor_by_gpu"
            if g not in gpu_ids:
                problems.append(f"{where}: no GPU '{g}' in the catalog.{suggestion(g, gpu_ids)}")
            elif c.gpu_class != "*" and g in gpus and gpus[g].compat_key != c.gpu_class:
                problems.append(f"{where}: GPU '{g}' is of class '{gpus[g].compat_key}', not the entry's '{c.gpu_class}'")
        if c.id != f"{c.engine}@{c.gpu_class}":
            fname, line = w["__entry__"]
            problems.append(f"{fname}:{line}: calibration[id={c.id}]: id must be '{c.engine}@{c.gpu_class}'")
    # aliases must name one entry only
    for section, kind in (("gpus", "gpu"), ("engines", "engine"), ("models", "model")):
        owner: dict[str, str] = {}
        for item in v[section]:
            names = [item.id, *item.aliases] + ([item.hf_repo] if kind == "model" and item.hf_repo else [])
            for n in names:
                k = n.lower()
                if k in owner and owner[k] != item.id:
                    fname, line = raws[section].where[item.id]["__entry__"]
                    problems.append(f"{fname}:{line}: {section}[id={item.id}].aliases: '{n}' already names '{owner[k]}'")
                owner.setdefault(k, item.id)
