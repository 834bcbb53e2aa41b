"""The survey catalog: validates YAML definitions in `surveys/` and loads them as versioned rows."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from sqlalchemy import func, select

from app.errors import CatalogError
from app.extensions import db
from app.models import Question, SurveyDefinition
from app.models.survey import QUESTION_KINDS, QUESTION_SCOPES
from app.services.transactions import unit_of_work

CODE_PATTERN = r"^[a-z][a-z0-9_-]{0,79}$"
_LABEL = {"type": "string", "minLength": 1, "maxLength": 200}
_REASON = {
    "type": "object",
    "required": ["code", "label"],
    "additionalProperties": False,
    "properties": {"code": {"type": "string", "pattern": CODE_PATTERN}, "label": _LABEL},
}
_SCALE = {
    "type": "object",
    "required": ["min", "max"],
    "additionalProperties": False,
    "properties": {
        "min": {"type": "integer", "minimum": 0, "maximum": 10},
        "max": {"type": "integer", "minimum": 1, "maximum": 10},
        "min_label": _LABEL,
        "max_label": _LABEL,
    },
}
_COMMON = {
    "code": {"type": "string", "pattern": CODE_PATTERN},
    "scope": {"enum": list(QUESTION_SCOPES)},
    "kind": {"enum": list(QUESTION_KINDS)},
    "text": {"type": "string", "minLength": 3, "maxLength": 500},
    "help": {"type": "string", "maxLength": 500},
    "required": {"type": "boolean"},
    "metric": {"enum": ["satisfaction", "happiness"]},
}


def _kind(kind: str, required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]},
        "then": {
            "required": ["code", "scope", "kind", "text", *required],
            "additionalProperties": False,
            "properties": {**_COMMON, **properties},
        },
    }


QUESTION_SCHEMA = {
    "type": "object",
    "required": ["code", "scope", "kind", "text"],
    "properties": _COMMON,
    "allOf": [
        _kind("rating", ["scale"], {"scale": _SCALE}),
        _kind("nps", [], {"scale": _SCALE}),
        _kind("hours", ["max"], {"max": {"type": "integer", "minimum": 1, "maximum": 1000}}),
        _kind("reasons", ["follows", "good", "bad"], {
            "follows": {"type": "string", "pattern": CODE_PATTERN},
            "good_from": {"type": "integer", "minimum": 0, "maximum": 10},
            "good": {"type": "array", "minItems": 1, "maxItems": 20, "items": _REASON},
            "bad": {"type": "array", "minItems": 1, "maxItems": 20, "items": _REASON},
        }),
        _kind("comment", [], {"max_length": {"type": "integer", "minimum": 10, "maximum": 10000}}),
        _kind("choice", ["choices"], {
            "choices": {"type": "array", "minItems": 2, "maxItems": 20, "items": _REASON},
        }),
    ],
}

SURVEY_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["code", "title", "questions"],
    "additionalProperties": False,
    "properties": {
        "code": {"type": "string", "pattern": CODE_PATTERN},
        "title": {"type": "string", "minLength": 3, "maxLength": 200},
        "description": {"type": "string", "maxLength": 2000},
        "intro": {"type": "string", "maxLength": 2000},
        "questions": {"type": "array", "minItems": 1, "maxItems": 100, "items": QUESTION_SCHEMA},
    },
}

_VALIDATOR = Draft202012Validator(SURVEY_SCHEMA)
DEFAULT_COMMENT_LENGTH = 2000


@dataclass(frozen=True)
class LoadResult:
    code: str
    version: int
    created: bool
    source: str


def _json_path(parts) -> str:
    path = "$"
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def parse_file(path: Path) -> dict[str, Any]:
    """Read and validate one definition file; raise CatalogError naming the file and the place."""
    source = path.name
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise CatalogError(source, "$", f"not UTF-8 text ({exc.reason})") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "$"
        problem = getattr(exc, "problem", None) or str(exc)
        raise CatalogError(source, where, f"not valid YAML: {problem}") from exc
    return validate_spec(spec, source)


def validate_spec(spec: Any, source: str) -> dict[str, Any]:
    errors = sorted(_VALIDATOR.iter_errors(spec), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if errors:
        # The deepest error is the most precise one (an `if/then` failure also reports its parent).
        error = max(errors, key=lambda e: len(e.absolute_path))
        raise CatalogError(source, _json_path(error.absolute_path), error.message)
    _check_semantics(spec, source)
    return spec


def _check_semantics(spec: dict[str, Any], source: str) -> None:
    seen: dict[str, int] = {}
    metrics: dict[str, int] = {}
    for index, question in enumerate(spec["questions"]):
        where = f"$.questions[{index}]"
        code = question["code"]
        if code in seen:
            raise CatalogError(source, f"{where}.code", f"duplicate question code {code!r} (first at questions[{seen[code]}])")
        seen[code] = index
        kind = question["kind"]
        scale = question.get("scale")
        if kind == "nps" and scale and (scale["min"], scale["max"]) != (0, 10):
            raise CatalogError(source, f"{where}.scale", "an nps question is always scored 0 to 10")
        if scale and scale["min"] >= scale["max"]:
            raise CatalogError(source, f"{where}.scale", "min must be smaller than max")
        metric = question.get("metric")
        if metric:
            expected = "rating" if metric == "satisfaction" else "nps"
            if kind != expected:
                raise CatalogError(source, f"{where}.metric", f"metric {metric} needs a question of kind {expected}")
            if metric in metrics:
                raise CatalogError(source, f"{where}.metric", f"metric {metric} is already given by questions[{metrics[metric]}]")
            metrics[metric] = index
        if kind == "reasons":
            target = question["follows"]
            if target not in seen:
                raise CatalogError(source, f"{where}.follows", f"follows {target!r}, which is not an earlier question")
            followed = spec["questions"][seen[target]]
            if followed["kind"] not in ("rating", "nps") or followed["scope"] != question["scope"]:
                raise CatalogError(source, f"{where}.follows", f"{target!r} must be a rating or nps question of the same scope")
            codes = [r["code"] for r in question["good"] + question["bad"]]
            duplicates = sorted({c for c in codes if codes.count(c) > 1})
            if duplicates:
                raise CatalogError(source, f"{where}", f"reason codes repeated: {', '.join(duplicates)}")
        if "{area}" in question["text"] and question["scope"] != "area":
            raise CatalogError(source, f"{where}.text", "{area} can only be used in area questions")


def checksum(spec: dict[str, Any]) -> str:
    """Of the parsed content, so re-indenting or editing comments does not make a new version."""
    canonical = json.dumps(spec, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def definition_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def validate_directory(directory: Path) -> list[tuple[Path, CatalogError | None]]:
    results = []
    for path in definition_files(directory):
        try:
            parse_file(path)
            results.append((path, None))
        except CatalogError as error:
            results.append((path, error))
    return results


def _question_row(index: int, q: dict[str, Any]) -> Question:
    kind = q["kind"]
    options: dict[str, Any] = {}
    minimum = maximum = None
    if kind in ("rating", "nps"):
        scale = q.get("scale") or {"min": 0, "max": 10}
        minimum, maximum = scale["min"], scale["max"]
        options = {k: scale[k] for k in ("min_label", "max_label") if k in scale}
    elif kind == "hours":
        minimum, maximum = 0, q["max"]
    elif kind == "reasons":
        options = {"follows": q["follows"], "good_from": q.get("good_from"), "good": q["good"], "bad": q["bad"]}
    elif kind == "comment":
        options = {"max_length": q.get("max_length", DEFAULT_COMMENT_LENGTH)}
    elif kind == "choice":
        options = {"choices": q["choices"]}
    if q.get("metric"):
        options["metric"] = q["metric"]
    return Question(
        code=q["code"], position=index, kind=kind, scope=q["scope"], text=q["text"], help_text=q.get("help"),
        required=bool(q.get("required", False)), min_value=minimum, max_value=maximum, options=options,
    )


def load_definition(spec: dict[str, Any], source: str) -> LoadResult:
    """Store `spec` as a new version unless an identical one exists. A step of `load_directory`: flushes only."""
    digest = checksum(spec)
    existing = db.session.scalar(
        select(SurveyDefinition).where(SurveyDefinition.code == spec["code"], SurveyDefinition.checksum == digest)
    )
    if existing is not None:
        return LoadResult(existing.code, existing.version, created=False, source=source)
    latest = db.session.scalar(select(func.max(SurveyDefinition.version)).where(SurveyDefinition.code == spec["code"]))
    definition = SurveyDefinition(
        code=spec["code"], version=(latest or 0) + 1, title=spec["title"], description=spec.get("description"),
        checksum=digest, source=source, spec=spec,
        questions=[_question_row(i, q) for i, q in enumerate(spec["questions"])],
    )
    db.session.add(definition)
    db.session.flush()
    return LoadResult(definition.code, definition.version, created=True, source=source)


@unit_of_work
def load_directory(directory: Path) -> list[LoadResult]:
    """Validate every file first, then load them all in one transaction: all or nothing. A unit of work."""
    specs = [(path.name, parse_file(path)) for path in definition_files(directory)]
    codes = [spec["code"] for _, spec in specs]
    for (source, spec) in specs:
        if codes.count(spec["code"]) > 1:
            raise CatalogError(source, "$.code", f"code {spec['code']!r} is used by more than one file")
    return [load_definition(spec, source) for source, spec in specs]


def latest_definition(code: str) -> SurveyDefinition | None:
    return db.session.scalar(
        select(SurveyDefinition).where(SurveyDefinition.code == code).order_by(SurveyDefinition.version.desc()).limit(1)
    )
