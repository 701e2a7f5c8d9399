"""The noise tables of docs/config.md, rendered from the mechanism registry and the NoiseSpec schema, so
the docs cannot drift from what validation accepts (tests/noise/test_registry.py compares them).

`python -m tffnoise.noise.doc_table` prints the block to paste between the markers.
"""
from __future__ import annotations

import dataclasses

from tffnoise.config import schema
from tffnoise.config.noise import spec_defaults
from tffnoise.noise import registry

BEGIN, END = "<!-- mechanisms:begin (python -m tffnoise.noise.doc_table) -->", "<!-- mechanisms:end -->"


def _defaults(name: str) -> str:
    d = spec_defaults(name)
    return ", ".join(f"{k}={d[k]}" for k in ("distribution", "schedule", "decay"))


def render(names=None) -> str:
    names = registry.names() if names is None else names
    rows = ["| name | where it acts | hooks | defaults | notes | paper |", "| --- | --- | --- | --- | --- | --- |"]
    for n in names:
        m = registry.get(n)
        hooks = ", ".join(h for h in registry.HOOKS if h in m.hooks)
        rows.append(f"| `{n}` | {m.where} | {hooks} | {_defaults(n)} | {m.doc} | {m.paper} |")
    rows += ["", "Every `[noise.NAME]` table takes these keys:", "", "| key | default | allowed | meaning |",
             "| --- | --- | --- | --- |"]
    for f in dataclasses.fields(schema.NoiseSpec):
        allowed = ", ".join(f.metadata["choices"]) if f.metadata.get("choices") else f"≥ {f.metadata['min']:g}"
        rows.append(f"| `{f.name}` | {f.default!r} | {allowed} | {f.metadata['doc']} |")
    return "\n".join([BEGIN, *rows, END])


if __name__ == "__main__":
    print(render())
