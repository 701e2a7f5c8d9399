"""Export a table as CSV and Markdown next to the store (`OUT/exports/`), each written atomically."""
from __future__ import annotations

import csv
import io
import time
from pathlib import Path


def to_csv(headers: list[str], rows: list[list[str]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(headers)
    w.writerows(rows)
    return buf.getvalue()


def to_markdown(headers: list[str], rows: list[list[str]]) -> str:
    def line(cells):
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(headers), line(["---"] * len(headers)), *map(line, rows)]) + "\n"


def export_table(folder: Path, name: str, headers: list[str], rows: list[list[str]], clock=time.time) -> list[Path]:
    from tffnoise.runner.atomic import write_text

    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(clock()))
    out = []
    for ext, text in (("csv", to_csv(headers, rows)), ("md", to_markdown(headers, rows))):
        path = Path(folder) / f"{name}-{stamp}.{ext}"
        write_text(path, text)
        out.append(path)
    return out
