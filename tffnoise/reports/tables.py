"""Markdown tables and number formatting for reports (no plotting, no TensorFlow)."""

from __future__ import annotations

import math
from typing import Any, Iterable, Sequence


def fmt(value: Any, digits: int = 4) -> str:
    """Numbers with ``digits`` decimals, NaN/None as an en dash, ±inf as ∞/−∞, others as ``str``."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    try:
        f = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(f):
        return "–"
    if math.isinf(f):
        return "∞" if f > 0 else "−∞"
    return f"{f:.{digits}f}"


def fmt_p(p: Any) -> str:
    """p-values: 3 significant digits, scientific below 0.001."""
    try:
        f = float(p)
    except (TypeError, ValueError):
        return "–"
    if math.isnan(f):
        return "–"
    return f"{f:.2e}" if f < 1e-3 else f"{f:.3f}"


def fmt_ci(low: Any, high: Any, digits: int = 4) -> str:
    if low is None or high is None or any(math.isnan(float(v)) for v in (low, high)):
        return "–"
    return f"[{float(low):.{digits}f}, {float(high):.{digits}f}]"


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[Any]], align: Sequence[str] | None = None) -> str:
    """A GitHub-flavoured Markdown table; ``align`` entries are "l", "r" or "c" (default: left)."""
    headers = [_cell(h) for h in headers]
    align = list(align) if align else ["l"] * len(headers)
    marks = {"l": ":---", "r": "---:", "c": ":---:"}
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(marks.get(a, "---") for a in align) + " |"]
    for row in rows:
        cells = [_cell(c) for c in row]
        cells += [""] * (len(headers) - len(cells))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
