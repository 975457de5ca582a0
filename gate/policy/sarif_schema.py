"""Validation of SARIF logs against the vendored OASIS SARIF 2.1.0 schema, fast on large logs.

jsonschema takes about 6 s on a 25,000-result Trivy log (fastjsonschema about 1.5 s), too slow
for a gate that should answer in under a second. So:

- the log's envelope (everything but ``runs[*].results`` and ``runs[*].tool.driver.rules``) is
  validated with jsonschema against the full schema;
- each result and rule is checked by a hand-written checker that implements the schema exactly
  for the properties scanners use (message, locations with physical/logical locations, regions,
  fingerprints, property bags, rule descriptions and default configuration);
- a result or rule that uses anything else falls back to jsonschema for that one item, against
  its own schema definition; so every item is checked against the published schema either way;
- a result in the exact shape scanners write (``_usual_result``: message text, rule id/index,
  level, kind, locations with uri and integer regions, fingerprints, properties without tags)
  is accepted by one flat check first; anything else, valid or not, goes the way above.

``tests/policy/test_sarif.py`` and ``tests/policy/test_sarif_schema.py`` check both against jsonschema on
generated items.
``uniqueItems`` is checked through a canonical JSON text per item (jsonschema's own check is
quadratic on objects).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when a document is validated: the commands' start-up does not pay for it
    import jsonschema

SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "sarif-2.1.0.json"

Path_ = tuple[Any, ...]


class SchemaViolation(Exception):
    """The first place a document breaks the schema: its JSON path parts and a message."""

    def __init__(self, path: Path_, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


class _Fallback(Exception):
    """The fast checker does not cover this item: validate it with jsonschema."""


def canonical(value: Any) -> str:
    """JSON text equal for values jsonschema considers equal (1 == 1.0, key order ignored)."""

    def norm(v: Any) -> Any:
        if isinstance(v, float) and v.is_integer():
            return int(v)
        if isinstance(v, dict):
            return {k: norm(x) for k, x in v.items()}
        if isinstance(v, list):
            return [norm(x) for x in v]
        return v

    return json.dumps(norm(value), sort_keys=True, separators=(",", ":"))


def _unique_items(validator: Any, unique: Any, instance: Any, schema: Any) -> Iterator[jsonschema.ValidationError]:
    import jsonschema

    if not unique or not validator.is_type(instance, "array"):
        return
    seen: set[str] = set()
    for item in instance:
        key = canonical(item)
        if key in seen:
            yield jsonschema.ValidationError(f"{short(item)} is a duplicate item (uniqueItems)")
            return
        seen.add(key)


def short(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=True, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return document


@lru_cache(maxsize=4)
def _validator(definition: str | None) -> Any:
    import jsonschema.validators

    schema = _schema()
    cls = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
        jsonschema.Draft4Validator, {"uniqueItems": _unique_items}
    )
    if definition is None:
        return cls(schema)
    return cls({"$ref": f"#/definitions/{definition}", "definitions": schema["definitions"]})


def _jsonschema_check(instance: Any, definition: str | None, prefix: Path_) -> None:
    import jsonschema.exceptions

    best = jsonschema.exceptions.best_match(_validator(definition).iter_errors(instance))
    if best is not None:
        raise SchemaViolation(prefix + tuple(best.absolute_path), best.message)


def validate(document: Any) -> None:
    """Raise ``SchemaViolation`` at the first place ``document`` breaks SARIF 2.1.0."""
    envelope, items = _split(document)
    _jsonschema_check(envelope, None, ())
    for definition, prefix, item in items:
        if definition == "result" and _usual_result(item):
            continue
        try:
            (_check_result if definition == "result" else _check_rule)(item, prefix)
        except _Fallback:
            _jsonschema_check(item, definition, prefix)
    for r, run in enumerate(document.get("runs") or []):
        rules = run.get("tool", {}).get("driver", {}).get("rules")
        if isinstance(rules, list):
            _unique(rules, ("runs", r, "tool", "driver", "rules"))


def _split(document: Any) -> tuple[Any, list[tuple[str, Path_, Any]]]:
    """The document with results and driver rules emptied, and those items with their paths."""
    items: list[tuple[str, Path_, Any]] = []
    if not isinstance(document, dict) or not isinstance(document.get("runs"), list):
        return document, items
    runs = []
    for r, run in enumerate(document["runs"]):
        if not isinstance(run, dict):
            runs.append(run)
            continue
        run = dict(run)
        if isinstance(run.get("results"), list):
            items += [("result", ("runs", r, "results", i), x) for i, x in enumerate(run["results"])]
            run["results"] = []
        tool = run.get("tool")
        if isinstance(tool, dict) and isinstance(tool.get("driver"), dict):
            driver = tool["driver"]
            if isinstance(driver.get("rules"), list):
                items += [
                    ("reportingDescriptor", ("runs", r, "tool", "driver", "rules", i), x)
                    for i, x in enumerate(driver["rules"])
                ]
                run["tool"] = {**tool, "driver": {**driver, "rules": []}}
        runs.append(run)
    return {**document, "runs": runs}, items


# ---------------------------------------------------------------- the exact checker

_LEVELS = ("none", "note", "warning", "error")
_KINDS = ("notApplicable", "pass", "fail", "review", "open", "informational")
_BASELINE = ("new", "unchanged", "updated", "absent")


def _fail(path: Path_, message: str) -> SchemaViolation:
    return SchemaViolation(path, message)


def _obj(value: Any, path: Path_) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(path, f"{short(value)} is not of type 'object'")
    return value


def _keys(value: dict[str, Any], known: frozenset[str]) -> None:
    # Any other property (allowed by the schema or not) sends the item to jsonschema.
    if not value.keys() <= known:
        raise _Fallback()


def _string(value: Any, path: Path_) -> None:
    if not isinstance(value, str):
        raise _fail(path, f"{short(value)} is not of type 'string'")


def _integer(value: Any, path: Path_, minimum: int | None = None) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _fail(path, f"{short(value)} is not of type 'integer'")
    if minimum is not None and value < minimum:
        raise _fail(path, f"{value} is less than the minimum of {minimum}")


def _number(value: Any, path: Path_, low: float, high: float) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise _fail(path, f"{short(value)} is not of type 'number'")
    if value < low or value > high:
        raise _fail(path, f"{value} is outside {low}..{high}")


def _enum(value: Any, path: Path_, values: tuple[str, ...]) -> None:
    if not isinstance(value, str):
        raise _fail(path, f"{short(value)} is not of type 'string'")
    if value not in values:
        raise _fail(path, f"{short(value)} is not one of {list(values)}")


def _array(value: Any, path: Path_) -> list[Any]:
    if not isinstance(value, list):
        raise _fail(path, f"{short(value)} is not of type 'array'")
    return value


def _unique(items: list[Any], path: Path_) -> None:
    if all(type(item) is str for item in items) and len(set(items)) == len(items):
        return
    # Objects with distinct string ids are distinct: compare whole items only within an id.
    groups: dict[tuple[str, str], list[Any]] = {}
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            groups.setdefault(("id", item["id"]), []).append(item)
        else:
            groups.setdefault(("value", canonical(item)), []).append(item)
    for (how, _), group in groups.items():
        if len(group) < 2:
            continue
        if how == "value" or len({canonical(item) for item in group}) < len(group):
            raise _fail(path, f"{short(group[0])} is a duplicate item (uniqueItems)")


def _string_map(value: Any, path: Path_) -> None:
    for key, item in _obj(value, path).items():
        _string(item, (*path, key))


def _property_bag(value: Any, path: Path_) -> None:
    bag = _obj(value, path)
    if "tags" in bag:
        tags = _array(bag["tags"], (*path, "tags"))
        for i, tag in enumerate(tags):
            _string(tag, (*path, "tags", i))
        _unique(tags, (*path, "tags"))


_MESSAGE = frozenset({"text", "markdown", "id", "arguments", "properties"})


def _usual_message(value: Any) -> bool:
    return type(value) is dict and len(value) == 1 and type(value.get("text")) is str  # {"text": "..."}


def _message(value: Any, path: Path_) -> None:
    if _usual_message(value):
        return
    message = _obj(value, path)
    _keys(message, _MESSAGE)
    for key in ("text", "markdown", "id"):
        if key in message:
            _string(message[key], (*path, key))
    if "arguments" in message:
        for i, item in enumerate(_array(message["arguments"], (*path, "arguments"))):
            _string(item, (*path, "arguments", i))
    if "properties" in message:
        _property_bag(message["properties"], (*path, "properties"))
    if "text" not in message and "id" not in message:
        raise _fail(path, "a message needs 'text' or 'id'")


_MULTIFORMAT = frozenset({"text", "markdown", "properties"})


def _multiformat(value: Any, path: Path_) -> None:
    message = _obj(value, path)
    _keys(message, _MULTIFORMAT)
    if "text" not in message:
        raise _fail(path, "'text' is a required property")
    for key in ("text", "markdown"):
        if key in message:
            _string(message[key], (*path, key))
    if "properties" in message:
        _property_bag(message["properties"], (*path, "properties"))


_URI_KEYS = frozenset({"uri", "uriBaseId"})
_ARTIFACT_LOCATION = frozenset({"uri", "uriBaseId", "index", "description", "properties"})


def _usual_artifact_location(value: Any) -> bool:
    # {"uri": "...", "uriBaseId": "..."}
    return type(value) is dict and value.keys() <= _URI_KEYS and all(type(item) is str for item in value.values())


def _artifact_location(value: Any, path: Path_) -> None:
    if _usual_artifact_location(value):
        return
    location = _obj(value, path)
    _keys(location, _ARTIFACT_LOCATION)
    for key in ("uri", "uriBaseId"):
        if key in location:
            _string(location[key], (*path, key))
    if "index" in location:
        _integer(location["index"], (*path, "index"), -1)
    if "description" in location:
        _message(location["description"], (*path, "description"))
    if "properties" in location:
        _property_bag(location["properties"], (*path, "properties"))


_REGION_FAST = frozenset(
    {
        "startLine", "startColumn", "endLine", "endColumn", "charOffset", "charLength", "byteOffset",
        "byteLength", "message", "sourceLanguage", "properties",
    }
)  # fmt: skip
_REGION_START = frozenset({"startLine", "charOffset", "byteOffset"})
_REGION_MIN = {
    "startLine": 1, "startColumn": 1, "endLine": 1, "endColumn": 1, "charOffset": -1,
    "charLength": 0, "byteOffset": -1, "byteLength": 0,
}  # fmt: skip


_REGION_INTEGERS = frozenset(_REGION_MIN)


def _usual_region(value: Any) -> bool:
    # Integers only, each at or above its minimum, with a start.
    return (
        type(value) is dict
        and value.keys() <= _REGION_INTEGERS
        and bool(value.keys() & _REGION_START)
        and all(type(item) is int and item >= _REGION_MIN[key] for key, item in value.items())
    )


def _region(value: Any, path: Path_) -> None:
    if _usual_region(value):
        return
    region = _obj(value, path)
    _keys(region, _REGION_FAST)
    for key, item in region.items():
        minimum = _REGION_MIN.get(key)
        if minimum is not None:
            _integer(item, (*path, key), minimum)
    if "message" in region:
        _message(region["message"], (*path, "message"))
    if "sourceLanguage" in region:
        _string(region["sourceLanguage"], (*path, "sourceLanguage"))
    if "properties" in region:
        _property_bag(region["properties"], (*path, "properties"))
    if not (_REGION_START & region.keys()):
        raise _fail(path, "a region needs startLine, charOffset or byteOffset")


_PHYSICAL_FAST = frozenset({"artifactLocation", "region", "contextRegion", "properties"})


def _physical(value: Any, path: Path_) -> None:
    physical = _obj(value, path)
    _keys(physical, _PHYSICAL_FAST)
    if "artifactLocation" not in physical:
        raise _fail(path, "a physicalLocation needs 'address' or 'artifactLocation'")
    _artifact_location(physical["artifactLocation"], (*path, "artifactLocation"))
    for key in ("region", "contextRegion"):
        if key in physical:
            _region(physical[key], (*path, key))
    if "properties" in physical:
        _property_bag(physical["properties"], (*path, "properties"))


_LOGICAL = frozenset({"name", "index", "fullyQualifiedName", "decoratedName", "parentIndex", "kind", "properties"})


def _logical(value: Any, path: Path_) -> None:
    logical = _obj(value, path)
    _keys(logical, _LOGICAL)
    for key in ("name", "fullyQualifiedName", "decoratedName", "kind"):
        if key in logical:
            _string(logical[key], (*path, key))
    for key in ("index", "parentIndex"):
        if key in logical:
            _integer(logical[key], (*path, key), -1)
    if "properties" in logical:
        _property_bag(logical["properties"], (*path, "properties"))


_LOCATION_FAST = frozenset({"id", "physicalLocation", "logicalLocations", "message", "properties"})


def _location(value: Any, path: Path_) -> None:
    location = _obj(value, path)
    _keys(location, _LOCATION_FAST)
    if "id" in location:
        _integer(location["id"], (*path, "id"), -1)
    if "physicalLocation" in location:
        _physical(location["physicalLocation"], (*path, "physicalLocation"))
    if "logicalLocations" in location:
        logical = _array(location["logicalLocations"], (*path, "logicalLocations"))
        for i, item in enumerate(logical):
            _logical(item, (*path, "logicalLocations", i))
        _unique(logical, (*path, "logicalLocations"))
    if "message" in location:
        _message(location["message"], (*path, "message"))
    if "properties" in location:
        _property_bag(location["properties"], (*path, "properties"))


def _usual_location(value: Any) -> bool:
    # {"physicalLocation": {"artifactLocation": usual, "region": usual}, "message": usual}
    if type(value) is not dict or not value.keys() <= _LOCATION_USUAL:
        return False
    if "message" in value and not _usual_message(value["message"]):
        return False
    if "physicalLocation" not in value:
        return True
    physical = value["physicalLocation"]
    return (
        type(physical) is dict
        and physical.keys() <= _PHYSICAL_USUAL
        and _usual_artifact_location(physical.get("artifactLocation"))
        and ("region" not in physical or _usual_region(physical["region"]))
    )


_LOCATION_USUAL = frozenset({"physicalLocation", "message"})
_PHYSICAL_USUAL = frozenset({"artifactLocation", "region"})


def _usual_result(value: Any) -> bool:
    """A result in the shape scanners write, valid: checked without the general checker's paths."""
    if type(value) is not dict or not value.keys() <= _RESULT_USUAL or not _usual_message(value.get("message")):
        return False
    for key, item in value.items():
        if key == "ruleId":
            if type(item) is not str:
                return False
        elif key == "ruleIndex":
            if type(item) is not int or item < -1:
                return False
        elif key == "level":
            if type(item) is not str or item not in _LEVELS:
                return False
        elif key == "kind":
            if type(item) is not str or item not in _KINDS:
                return False
        elif key == "locations":
            if type(item) is not list or not all(_usual_location(location) for location in item):
                return False
        elif key in ("partialFingerprints", "fingerprints"):
            if type(item) is not dict or not all(type(text) is str for text in item.values()):
                return False
        elif key == "properties" and (type(item) is not dict or "tags" in item):
            return False
    return True


_RESULT_USUAL = frozenset(
    {"ruleId", "ruleIndex", "level", "kind", "message", "locations", "partialFingerprints", "fingerprints", "properties"}
)  # fmt: skip

_RESULT_FAST = frozenset(
    {
        "ruleId", "ruleIndex", "kind", "level", "message", "locations", "partialFingerprints",
        "fingerprints", "baselineState", "rank", "occurrenceCount", "properties",
    }
)  # fmt: skip


def _check_result(value: Any, path: Path_) -> None:
    result = _obj(value, path)
    _keys(result, _RESULT_FAST)
    if "message" not in result:
        raise _fail(path, "'message' is a required property")
    _message(result["message"], (*path, "message"))
    if "ruleId" in result:
        _string(result["ruleId"], (*path, "ruleId"))
    if "ruleIndex" in result:
        _integer(result["ruleIndex"], (*path, "ruleIndex"), -1)
    if "kind" in result:
        _enum(result["kind"], (*path, "kind"), _KINDS)
    if "level" in result:
        _enum(result["level"], (*path, "level"), _LEVELS)
    if "baselineState" in result:
        _enum(result["baselineState"], (*path, "baselineState"), _BASELINE)
    if "rank" in result:
        _number(result["rank"], (*path, "rank"), -1.0, 100.0)
    if "occurrenceCount" in result:
        _integer(result["occurrenceCount"], (*path, "occurrenceCount"), 1)
    if "locations" in result:
        for i, item in enumerate(_array(result["locations"], (*path, "locations"))):
            _location(item, (*path, "locations", i))
    for key in ("partialFingerprints", "fingerprints"):
        if key in result:
            _string_map(result[key], (*path, key))
    if "properties" in result:
        _property_bag(result["properties"], (*path, "properties"))


_CONFIG = frozenset({"enabled", "level", "rank", "parameters", "properties"})


def _configuration(value: Any, path: Path_) -> None:
    config = _obj(value, path)
    _keys(config, _CONFIG)
    if "enabled" in config and not isinstance(config["enabled"], bool):
        raise _fail((*path, "enabled"), f"{short(config['enabled'])} is not of type 'boolean'")
    if "level" in config:
        _enum(config["level"], (*path, "level"), _LEVELS)
    if "rank" in config:
        _number(config["rank"], (*path, "rank"), -1.0, 100.0)
    for key in ("parameters", "properties"):
        if key in config:
            _property_bag(config[key], (*path, key))


_RULE_FAST = frozenset(
    {"id", "name", "shortDescription", "fullDescription", "help", "helpUri", "defaultConfiguration", "properties"}
)


def _check_rule(value: Any, path: Path_) -> None:
    rule = _obj(value, path)
    _keys(rule, _RULE_FAST)
    if "id" not in rule:
        raise _fail(path, "'id' is a required property")
    for key in ("id", "name", "helpUri"):
        if key in rule:
            _string(rule[key], (*path, key))
    for key in ("shortDescription", "fullDescription", "help"):
        if key in rule:
            _multiformat(rule[key], (*path, key))
    if "defaultConfiguration" in rule:
        _configuration(rule["defaultConfiguration"], (*path, "defaultConfiguration"))
    if "properties" in rule:
        _property_bag(rule["properties"], (*path, "properties"))
