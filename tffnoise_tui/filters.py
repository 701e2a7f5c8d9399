"""The Results filter: `KEY=VALUE`, `KEY>VALUE`, `KEY<VALUE` terms (also `>=`, `<=`, `!=`) and free words,
all ANDed.

KEY is `status`, a dotted key of the run's resolved config (`noise.hidden.level`, `training.protocol`) or
a metric/index column (`test_accuracy`, `epsilon`, `repeat`). Free words match the setting's label only
(setup and group label), never a number in some other column: `5` must not pick every run with a 5 in
its id or accuracy. A term whose key no run has is an error the screen shows, never a filter that
silently matches nothing.
"""
from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass

_TERM = re.compile(r"^(?P<key>[A-Za-z_][\w.\-]*)(?P<op>>=|<=|!=|=|>|<)(?P<value>.*)$")
_OPS = {"=": operator.eq, "!=": operator.ne, ">": operator.gt, "<": operator.lt, ">=": operator.ge,
        "<=": operator.le}
_MISSING = object()


class FilterError(ValueError):
    """A term that cannot be applied (shown under the filter box)."""


@dataclass(frozen=True)
class Term:
    key: str
    op: str
    value: str


@dataclass(frozen=True)
class Query:
    terms: tuple[Term, ...] = ()
    words: tuple[str, ...] = ()


def parse(text: str) -> Query:
    terms, words = [], []
    for part in text.split():
        m = _TERM.match(part)
        if m is None:
            words.append(part.lower())
            continue
        term = Term(m["key"], m["op"], m["value"])
        if term.value == "":
            raise FilterError(f"{part}: no value after {term.op}")
        if term.op in (">", "<", ">=", "<=") and _number(term.value) is None:
            raise FilterError(f"{part}: {term.op} needs a number")
        terms.append(term)
    return Query(tuple(terms), tuple(words))


def _number(v):
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    try:
        return float(str(v))
    except ValueError:
        return None


def lookup(rec: dict, key: str):
    """The record's value for a filter key (`_MISSING` when it has none)."""
    if "." in key:
        node = rec.get("config") or {}
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                return _MISSING
            node = node[part]
        return node
    final = rec.get("final") or {}
    if key in final and final[key] is not None:
        return final[key]
    v = rec.get(key, _MISSING)
    return _MISSING if v is None else v


def _holds(value, term: Term) -> bool:
    if value is _MISSING or isinstance(value, (dict, list)):
        return False
    want, have = _number(term.value), _number(value)
    if want is not None and have is not None:
        if math.isnan(have):
            return term.op == "!="
        return _OPS[term.op](have, want)
    if term.op not in ("=", "!="):
        return False
    same = str(value).lower() == term.value.lower()
    return same if term.op == "=" else not same


def apply(query: Query, records: list[dict], label=lambda r: "") -> list[dict]:
    """The records that satisfy every term and contain every word in `label(record)`."""
    for term in query.terms:
        if records and all(lookup(r, term.key) is _MISSING for r in records):
            raise FilterError(f"{term.key}: no run has this key (a dotted config key such as noise.weights.level "
                              "or training.protocol, status, or a metric such as test_accuracy)")
    out = []
    for r in records:
        text = label(r).lower()
        if all(w in text for w in query.words) and all(_holds(lookup(r, t.key), t) for t in query.terms):
            out.append(r)
    return out
