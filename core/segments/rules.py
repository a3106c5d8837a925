"""Rule segments (`rule:<name>`): conditions declared in YAML, parsed and checked without eval.

A rule is `{name, when}`; `when` is one condition, and a condition is one of

    {all: [cond, ...]}                  every condition holds (an empty list: everyone)
    {any: [cond, ...]}                  at least one holds (an empty list: nobody)
    {not: cond}                         the condition does not hold
    {field: F, op: OP, value: V}        a test on a summary field
    "F OP V"                            the same, written as text: "revenue > 500",
                                        "country in [DE, AT]", "first_order_at within_days 30"
    {bought: [ref, ...]}                bought (in a valid order) a product whose id or SKU is
                                        listed
    {segment: S} / {segment: [S, ...]}  member of any of the segments, e.g. "abc:A" or
                                        "rule:<a rule defined earlier>"

The prediction fields (`predictions.FIELDS`: p_alive, expected_orders_90, expected_orders_365,
expected_order_value, clv, contact_due_at) are there too, e.g. `{all: ["p_alive < 0.3",
"clv > 200"]}`.

Operators by field kind (`FIELDS`): numbers `> >= < <= == != in not_in`; text `== != in
not_in starts_with` (case-insensitive); times `before after` (a date or time) and
`within_days older_than_days` (counted back from as_of); flags `== !=`. A missing value (no
order yet, no city) fails every test, so `not` of a test includes the customers without one.
This module parses and validates (`validate_rule`, errors name the path, the field or the
operator) and evaluates parsed rules on a summary frame. Pure: no I/O, no clock.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

from loyalsync.core.config import RuleConfig
from loyalsync.core.segments.families import FAMILIES
from loyalsync.core.segments.predictions import FIELDS as PREDICTION_FIELDS
from loyalsync.core.segments.rule_values import coerce_value

FIELDS: dict[str, str] = {
    "orders": "number", "revenue": "number",
    "avg_order_value": "number", "distinct_products": "number", "recency_days": "number",
    "tenure_days": "number", "mean_interval_days": "number", "customer_age_days": "number",
    "identity_size": "number",
    "first_order_at": "time", "last_order_at": "time", "created_at": "time",
    "email": "text", "number": "text", "first_name": "text", "last_name": "text",
    "company": "text", "country": "text", "city": "text", "postcode": "text",
    "group_id": "text", "group_name": "text",
    "is_guest": "flag",
    **PREDICTION_FIELDS,  # p_alive, clv, ...: missing (every test false) when predictions skip
}  # fmt: skip
OPERATORS: dict[str, tuple[str, ...]] = {
    "number": (">", ">=", "<", "<=", "==", "!=", "in", "not_in"),
    "text": ("==", "!=", "in", "not_in", "starts_with"),
    "time": ("before", "after", "within_days", "older_than_days"),
    "flag": ("==", "!="),
}
ALL_OPERATORS = tuple(dict.fromkeys(op for ops in OPERATORS.values() for op in ops))
_OP_HINTS = {"=>": ">=", "=<": "<=", "=": "==", "<>": "!=", "not in": "not_in", "is": "=="}
RULE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_TEXT_FORM = re.compile(
    r"^\s*(?P<field>[A-Za-z_][A-Za-z0-9_]*)\s*"
    r"(?P<op>>=|<=|==|!=|>|<|\s(?:not_in|in|starts_with|before|after|within_days|"
    r"older_than_days)\s)\s*(?P<value>.*?)\s*$"
)


# ---------------------------------------------------------------------------------------------
# Parsed conditions


@dataclass(frozen=True)
class Compare:
    field: str
    op: str
    value: Any


@dataclass(frozen=True)
class Bought:
    refs: tuple[str, ...]


@dataclass(frozen=True)
class InSegment:
    segments: tuple[str, ...]


@dataclass(frozen=True)
class All:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


Condition = Compare | Bought | InSegment | All | AnyOf | Not


# ---------------------------------------------------------------------------------------------
# Parsing with problems collected (never raises on user input)


def validate_rule(rule: RuleConfig) -> list[str]:
    """Problems in one rule, each as '<path>: <message>' relative to the rule
    ('name: ...', 'when.all[1].field: unknown field ...'); empty when the rule is valid."""
    problems: list[str] = []
    parse_rule(rule, problems)
    return problems


def parse_rule(rule: RuleConfig, problems: list[str]) -> Condition | None:
    """The parsed `when` of a rule, appending problems; None if it cannot be parsed."""
    if not isinstance(rule.name, str) or not RULE_NAME.match(rule.name):
        problems.append(
            f"name: {rule.name!r} is not a valid rule name (letters, digits, '_', '.', '-')"
        )
    return parse_condition(rule.when, "when", problems)


def parse_condition(node: Any, path: str, problems: list[str]) -> Condition | None:
    if isinstance(node, str):
        return _parse_text(node, path, problems)
    if not isinstance(node, dict):
        problems.append(
            f"{path}: expected a condition (a mapping or 'field op value'), got {node!r}"
        )
        return None
    keys = set(node)
    if keys == {"all"} or keys == {"any"}:
        return _parse_group(node, path, problems)
    if keys == {"not"}:
        item = parse_condition(node["not"], f"{path}.not", problems)
        return Not(item) if item is not None else None
    if keys == {"bought"}:
        return _parse_bought(node["bought"], f"{path}.bought", problems)
    if keys == {"segment"}:
        return _parse_segment(node["segment"], f"{path}.segment", problems)
    if "field" in keys or "op" in keys:
        return _parse_compare(node, path, problems)
    known = ("all", "any", "not", "field", "bought", "segment")
    hints = [k for k in keys if k not in known]
    guess = difflib.get_close_matches(str(hints[0]), known, n=1) if hints else []
    hint = f" (did you mean {guess[0]!r}?)" if guess else ""
    problems.append(
        f"{path}: expected exactly one of all, any, not, bought, segment or field/op/value, "
        f"got keys {sorted(map(str, keys))}{hint}"
    )
    return None


def _parse_group(node: dict[str, Any], path: str, problems: list[str]) -> Condition | None:
    key = next(iter(node))
    items = node[key]
    if not isinstance(items, list):
        problems.append(f"{path}.{key}: expected a list of conditions, got {items!r}")
        return None
    parsed = [parse_condition(item, f"{path}.{key}[{i}]", problems) for i, item in enumerate(items)]
    if any(p is None for p in parsed):
        return None
    conditions = tuple(p for p in parsed if p is not None)
    return All(conditions) if key == "all" else AnyOf(conditions)


def _parse_text(text: str, path: str, problems: list[str]) -> Condition | None:
    match = _TEXT_FORM.match(text)
    if not match or not match.group("value"):
        problems.append(
            f"{path}: cannot read {text!r}; write 'field op value', e.g. 'revenue > 500'"
        )
        return None
    value = _text_value(match.group("value"))
    node = {"field": match.group("field"), "op": match.group("op").strip(), "value": value}
    return _parse_compare(node, path, problems)


def _text_value(text: str) -> Any:
    if text.startswith("[") and text.endswith("]"):
        return [_text_scalar(part) for part in text[1:-1].split(",") if part.strip()]
    return _text_scalar(text)


def _text_scalar(text: str) -> Any:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    try:
        return float(text) if re.fullmatch(r"-?\d+(\.\d*)?([eE]-?\d+)?", text) else text
    except ValueError:  # pragma: no cover - the pattern only admits numbers
        return text


def _parse_compare(node: dict[str, Any], path: str, problems: list[str]) -> Condition | None:
    extra = set(node) - {"field", "op", "value"}
    if extra:
        problems.append(f"{path}: unknown keys {sorted(map(str, extra))} (use field, op, value)")
    field, op = node.get("field"), node.get("op")
    ok = True
    if field not in FIELDS:
        guess = difflib.get_close_matches(str(field), FIELDS, n=1)
        hint = f" (did you mean {guess[0]!r}?)" if guess else ""
        problems.append(f"{path}.field: unknown field {field!r}{hint}")
        ok = False
    if op not in ALL_OPERATORS:
        guess = (
            [_OP_HINTS[op]]
            if op in _OP_HINTS
            else difflib.get_close_matches(str(op), ALL_OPERATORS, n=1)
        )
        hint = f" (did you mean {guess[0]!r}?)" if guess else ""
        problems.append(
            f"{path}.op: unknown operator {op!r}{hint}; known: {' '.join(ALL_OPERATORS)}"
        )
        return None
    if not ok:
        return None
    kind = FIELDS[str(field)]
    if op not in OPERATORS[kind]:
        problems.append(
            f"{path}.op: operator {op!r} does not apply to {kind} field {field!r}; "
            f"use one of {' '.join(OPERATORS[kind])}"
        )
        return None
    if "value" not in node:
        problems.append(f"{path}.value: required for operator {op!r}")
        return None
    value = check_value(kind, str(op), node["value"], f"{path}.value", problems)
    return Compare(str(field), str(op), value) if value is not None else None


def check_value(kind: str, op: str, value: Any, path: str, problems: list[str]) -> Any:
    """The value coerced for the field kind and operator, or None after appending a problem."""
    coerced, problem = coerce_value(kind, op, value)
    if problem:
        problems.append(f"{path}: {problem}")
        return None
    return coerced


def _parse_bought(value: Any, path: str, problems: list[str]) -> Condition | None:
    refs = value if isinstance(value, list) else [value]
    if not refs or not all(isinstance(r, str | int) and str(r).strip() for r in refs):
        problems.append(f"{path}: expected a product id or SKU, or a list of them, got {value!r}")
        return None
    return Bought(tuple(str(r).strip() for r in refs))


def _parse_segment(value: Any, path: str, problems: list[str]) -> Condition | None:
    names = value if isinstance(value, list) else [value]
    ok = bool(names)
    for i, name in enumerate(names):
        where = f"{path}[{i}]" if isinstance(value, list) else path
        family, sep, rest = str(name).partition(":")
        if not isinstance(name, str) or not sep or not rest:
            problems.append(f"{where}: expected 'family:value' such as 'abc:A', got {name!r}")
            ok = False
        elif family not in FAMILIES:
            guess = difflib.get_close_matches(family, FAMILIES, n=1)
            hint = f" (did you mean {guess[0]!r}?)" if guess else ""
            problems.append(f"{where}: unknown segment family {family!r}{hint}")
            ok = False
    if not names:
        problems.append(f"{path}: expected a segment name or a list of them")
    return InSegment(tuple(str(n) for n in names)) if ok else None


# ---------------------------------------------------------------------------------------------
# Whole rule sets


def validate_rules(rules: tuple[RuleConfig, ...] | list[RuleConfig]) -> list[str]:
    """Problems across rules: each rule's own, duplicate names, and references to rules that
    are not defined before the referring one (rules are evaluated in order)."""
    problems: list[str] = []
    seen: set[str] = set()
    for i, rule in enumerate(rules):
        own: list[str] = []
        parsed = parse_rule(rule, own)
        problems.extend(f"rules[{i}].{p}" for p in own)
        if rule.name in seen:
            problems.append(f"rules[{i}].name: duplicate rule name {rule.name!r}")
        for ref in referenced_segments(parsed) if parsed else ():
            family, _, target = ref.partition(":")
            if family == "rule" and target not in seen:
                problems.append(
                    f"rules[{i}].when: refers to 'rule:{target}', which is not defined before "
                    f"rule {rule.name!r}"
                )
        seen.add(rule.name)
    return problems


def walk(condition: Condition) -> list[Condition]:
    """The condition and all conditions inside it, depth first."""
    out: list[Condition] = [condition]
    if isinstance(condition, All | AnyOf):
        for item in condition.items:
            out.extend(walk(item))
    elif isinstance(condition, Not):
        out.extend(walk(condition.item))
    return out


def referenced_segments(condition: Condition) -> tuple[str, ...]:
    found = [s for c in walk(condition) if isinstance(c, InSegment) for s in c.segments]
    return tuple(dict.fromkeys(found))


def referenced_products(conditions: list[Condition]) -> tuple[str, ...]:
    """Every product id or SKU any of the parsed rules asks about (for the purchase look-up)."""
    found = [r for cond in conditions for c in walk(cond) if isinstance(c, Bought) for r in c.refs]
    return tuple(sorted(set(found)))
