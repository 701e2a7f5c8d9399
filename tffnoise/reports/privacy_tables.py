"""summary.md's privacy sections: per setting and per run, the accuracy, ε where accounted, the one-run
audit's lower bound where audited, and each attack's AUC and TPR at 1% FPR; then accuracy at equal
TPR@1%FPR against DP (`privacy_points.equal_leakage`). Definitions: docs/metrics.md, docs/privacy.md."""
from __future__ import annotations

import math

from tffnoise.metrics.significance import mean_ci_t
from tffnoise.records import runs as _rec
from tffnoise.records.groups import Grouping
from tffnoise.reports.privacy_points import equal_leakage, privacy_points
from tffnoise.reports.tables import fmt, fmt_ci, markdown_table

BELOW = "below resolution"

HOW_TO_READ = (
    "ε: the accountant's (ε, δ) upper bound where the run is DP; audit ε ≥: the one-run audit's 95% lower "
    "bound (Steinke et al. 2023) where `privacy.audit` ran, flagged when it exceeds ε. MIA AUC: the "
    "loss-threshold attack on members vs held-out test examples (0.5 = chance); trained AUC: the trained "
    "attack. For the loss attack on every run (members vs held-out test examples, `mia_loss_*`) and each "
    "strong attack that ran (LiRA, RMIA, their offline variants, and the loss attack on their population "
    "examples, \"loss (LiRA's examples)\"): its AUC, and its TPR at 1% FPR (Carlini et al. 2022: what an attacker "
    "gets right when it may be wrong about 1 non-member in 100; chance is 0.01). A TPR below 1/n (n "
    "attacked members) is the floor 1/n, marked *below resolution*. Per setting: the mean over done "
    "repeats with a Student-t 95% CI over repeats (cut to [0, 1]; with 2 repeats it is wide); per run: the "
    "value with its bootstrap 95% CI over attacked examples.")


def _has_privacy(rec: dict) -> bool:
    names = ["epsilon", "mia_auc", "mia_trained_auc", "audit_epsilon_lower"]
    names += [_rec.attack_key(a, m) for a in _rec.ATTACKS for m in ("auc", _rec.TPR_1)]
    return any(math.isfinite(_rec.final_metric(rec, n)) for n in names)


def _mean_cell(runs: list[dict], name: str, digits: int = 3) -> str:
    vals = _rec.metric_values(runs, name)
    return fmt(sum(vals) / len(vals), digits) if vals else "–"


def _tpr_mean_cell(runs: list[dict], attack: str) -> str:
    vals = _rec.metric_values(runs, _rec.attack_key(attack))
    if not vals:
        return "–"
    mean, lo, hi = mean_ci_t(vals)   # a rate: the interval is cut to [0, 1]
    text = f"{mean:.4f}" + (f" {fmt_ci(max(lo, 0.0), min(hi, 1.0))}" if math.isfinite(lo) else "")
    below = sum(_rec.below_resolution(r, attack) for r in runs)
    return text + (f" ({below}/{len(vals)} {BELOW})" if below else "")


def _tpr_run_cell(rec: dict, attack: str) -> str:
    value = _rec.final_metric(rec, _rec.attack_key(attack))
    if not math.isfinite(value):
        return "–"
    if _rec.below_resolution(rec, attack):
        return f"≤ {value:.4f} ({BELOW})"
    lo, hi = _rec.attack_ci(rec, attack)
    return f"{value:.4f}" + (f" {fmt_ci(lo, hi)}" if math.isfinite(lo) else "")


def _audit_cell(runs: list[dict]) -> str:
    vals = _rec.metric_values(runs, "audit_epsilon_lower")
    if not vals:
        return "–"
    exceeds = sum(bool((r.get("final") or {}).get("audit_exceeds_epsilon")) for r in runs)
    return fmt(sum(vals) / len(vals), 3) + (f" **exceeds ε in {exceeds}/{len(runs)}**" if exceeds else "")


def _columns(records: list[dict]) -> tuple[list[str], list[str], list[str], list[str]]:
    """Which optional columns the records fill: base metrics, audit, attacks with an AUC / a TPR."""
    base = [n for n in ("epsilon", "mia_auc", "mia_trained_auc")
            if any(math.isfinite(_rec.final_metric(r, n)) for r in records)]
    audit = ["audit_epsilon_lower"] if any(math.isfinite(_rec.final_metric(r, "audit_epsilon_lower"))
                                           for r in records) else []
    # the loss attack's AUC is `mia_auc` (records.runs.SAME_AS): the "MIA AUC" column, not a second one
    aucs = [a for a in _rec.attacks_run(records, "auc") if _rec.SAME_AS.get(_rec.attack_key(a, "auc")) not in base]
    return base, audit, aucs, _rec.attacks_run(records)


_BASE_HEADERS = {"epsilon": "ε", "mia_auc": "MIA AUC", "mia_trained_auc": "trained AUC"}
_BASE_DIGITS = {"epsilon": 3, "mia_auc": 3, "mia_trained_auc": 3}


def _headers(base, audit, aucs, tprs) -> list[str]:
    return ([_BASE_HEADERS[n] for n in base] + ["audit ε ≥"] * bool(audit)
            + [f"{_rec.ATTACK_LABELS[a]} AUC" for a in aucs] + [f"{_rec.ATTACK_LABELS[a]} TPR@1%FPR" for a in tprs])


def setting_table(grouping: Grouping) -> list[str]:
    groups = {k: runs for k, runs in grouping.groups.items() if any(_has_privacy(r) for r in runs)}
    if not groups:
        return []
    base, audit, aucs, tprs = _columns([r for runs in groups.values() for r in runs])
    rows = []
    for key, runs in groups.items():
        rows.append([key.setup, runs[0].get("protocol", ""), key.line(), f"{key.level:g}", len(runs),
                     _mean_cell(runs, "test_accuracy", 4)]
                    + [_mean_cell(runs, n, _BASE_DIGITS[n]) for n in base] + [_audit_cell(runs)] * bool(audit)
                    + [_mean_cell(runs, _rec.attack_key(a, "auc")) for a in aucs]
                    + [_tpr_mean_cell(runs, a) for a in tprs])
    headers = ["setup", "protocol", "group", "σ", "n", "test acc"] + _headers(base, audit, aucs, tprs)
    return ["## Privacy comparison", "", HOW_TO_READ, "",
            markdown_table(headers, rows, align="llll" + "r" * (len(headers) - 4)), ""]


def run_table(grouping: Grouping) -> list[str]:
    runs = [r for rs in grouping.groups.values() for r in rs if _has_privacy(r)]
    base, audit, aucs, tprs = _columns(runs)
    if not (audit or tprs):   # without strong attacks or audits the setting means say everything
        return []
    rows = []
    for r in runs:
        key = grouping.key(r)
        rows.append([r.get("run_id", "?"), key.setup, key.label(), r.get("repeat", ""),
                     fmt(_rec.final_metric(r, "test_accuracy"))]
                    + [fmt(_rec.final_metric(r, n), _BASE_DIGITS[n]) for n in base] + [_audit_cell([r])] * bool(audit)
                    + [fmt(_rec.final_metric(r, _rec.attack_key(a, "auc")), 3) for a in aucs]
                    + [_tpr_run_cell(r, a) for a in tprs])
    headers = ["run", "setup", "group", "repeat", "test acc"] + _headers(base, audit, aucs, tprs)
    return ["### Privacy per run", "", markdown_table(headers, rows, align="llll" + "r" * (len(headers) - 4)), ""]


def equal_leakage_section(grouping: Grouping) -> list[str]:
    out = []
    for attack in ("lira", "rmia", "loss"):   # the loss attack's: the only one DP-FedAvg's small runs have
        rows = equal_leakage(privacy_points(grouping, attack))
        if not rows:
            continue
        name = _rec.ATTACK_LABELS[attack]
        table = [[r["family"], f"{r['level']:g}", f"{r['tpr']:.4f}", fmt(r["acc"]), r["dp"],
                  ", ".join(f"{z:g}" for z in r["dp_levels"]),
                  fmt(r["dp_acc"]) if math.isfinite(r["dp_acc"]) else "outside DP's TPR range",
                  f"{r['diff']:+.4f}" if math.isfinite(r["diff"]) else "–"] for r in rows]
        out += [f"### Accuracy at equal {name} TPR@1%FPR", "",
                f"Each setting's mean {name} TPR at 1% FPR, and the accuracy each DP family reaches at that TPR by "
                "**linear interpolation along its level curve** (the accuracy between the two consecutive noise "
                "multipliers whose mean TPRs bracket it, linear in TPR; the best one where the curve brackets it "
                "twice; no extrapolation). Δ = setting − DP: positive means more accurate than DP at equal "
                "measured leakage.", "",
                markdown_table(["line", "σ", f"{name} TPR@1%FPR", "test acc", "DP family", "its levels z",
                                "DP acc at equal TPR", "Δ acc"], table, align="lrrrllrr"), ""]
    return out


def privacy_sections(grouping: Grouping) -> list[str]:
    return setting_table(grouping) + run_table(grouping) + equal_leakage_section(grouping)
