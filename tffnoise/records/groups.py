"""Which runs are repeats of one setting, and which setting is each one's clean reference.

A *group* is one setting (`setting_id`, tffnoise/config/sweep.py): runs that differ only by repeat index,
so only they may be pooled as repeats. The *clean reference* of a setting is the setting with the same
config in everything (learning rate, protocol, privacy ... included) except that every noise mechanism is
off (`clean_setting_key`). Both ids are computed from each record's stored config, so old stores work; a
record without a config uses its own ``setting_id`` / ``clean_id`` fields (or is a setting of its own).

Settings that share a clean reference form a *setup* (one report section). Its label is the protocol,
learners and DP mode, plus every config key whose value differs between the setups of the record set.
The x value of a setting is the level of its *swept* mechanism: the only one on, or, with several on,
the one whose level takes the most values among the settings with that clean reference and the same
mechanisms on. The other mechanisms, at their fixed levels, belong to the setup label (``... + hidden/
gaussian σ=0.5``; the clean reference is the same); any noise parameter (schedule, decay, gamma) that
differs between settings with that clean reference goes into the group's ``series`` text, so two groups
never share a label.
"""
from __future__ import annotations

import json
from collections import defaultdict
from typing import Iterable, NamedTuple

from tffnoise.config.sweep import clean_setting_key, setting_key
from tffnoise.noise.registry import ordered
from tffnoise.records.labels import BASE_KEYS, base_label
from tffnoise.records.runs import distribution_of, format_level, is_done, mechanism_of, norm_level

#: Noise parameters besides the level; one that differs between settings of a setup is shown in labels.
NOISE_PARAMS = ("schedule", "decay", "gamma")
#: Config keys never shown as a setup difference (bookkeeping, or the noise itself).
_HIDDEN_KEYS = ("out", "sweep", "execution", "noise", "experiment.name", "experiment.repeats")


class GroupKey(NamedTuple):
    setup: str          # label of the setup (the clean reference, + any mechanisms held fixed)
    mechanism: str      # the swept mechanism, "none" for the clean setting
    distribution: str
    level: float        # the swept mechanism's level (the x value)
    series: str = ""    # what else identifies the setting inside its setup ("decay=none", "+ hidden/gaussian σ=0.5")
    setting_id: str = ""
    clean_id: str = ""

    @property
    def is_clean(self) -> bool:
        return self.mechanism == "none"

    def line(self) -> str:
        """The setting without its level: one line / box series along the level axis."""
        if self.is_clean:
            return "clean"
        dist = f"/{self.distribution}" if self.distribution else ""
        return f"{self.mechanism}{dist}" + (f" {self.series}" if self.series else "")

    def label(self) -> str:
        """``weights/uniform σ=0.3``, ``weights/uniform σ=0.3 decay=none`` or ``clean``."""
        if self.is_clean:
            return "clean"
        dist = f"/{self.distribution}" if self.distribution else ""
        return f"{self.mechanism}{dist} σ={format_level(self.level)}" + (f" {self.series}" if self.series else "")


def _resolved_config(rec: dict) -> dict | None:
    cfg = rec.get("config")
    return cfg if isinstance(cfg, dict) and "training" in cfg else None


def _active_noise(rec: dict) -> dict[str, dict]:
    cfg = _resolved_config(rec)
    if cfg is not None:
        return {m: dict(s) for m, s in (cfg.get("noise") or {}).items() if norm_level(s.get("level", 0)) != 0}
    mech, level = mechanism_of(rec), norm_level(rec.get("level", 0))
    if mech == "none" or level == 0:
        return {}
    return {mech: {"distribution": distribution_of(rec), "level": level}}


def setting_of(rec: dict) -> str:
    """The record's setting id: from its config, else its ``setting_id`` field, else its own run id."""
    cfg = _resolved_config(rec)
    if cfg is not None:
        return setting_key(cfg)
    return str(rec.get("setting_id") or rec.get("run_id") or id(rec))


def clean_of(rec: dict) -> str:
    """The id of the record's clean reference setting ('' when unknown)."""
    cfg = _resolved_config(rec)
    if cfg is not None:
        return clean_setting_key(cfg)
    if rec.get("clean_id"):
        return str(rec["clean_id"])
    return setting_of(rec) if not _active_noise(rec) else ""


def _flatten(d: dict, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if key in _HIDDEN_KEYS:
            continue
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = json.dumps(v, sort_keys=True) if isinstance(v, (list, dict)) else str(v)
    return out


def _applicable(flat: dict[str, str]) -> dict[str, str]:
    """Leave out the DP fields of a setting trained without DP (they are defaults that do nothing there), so
    a label never shows `l2_norm_clip=1.0` beside a run that clipped nothing."""
    if flat.get("privacy.mode", "none") != "none":
        return flat
    return {k: v for k, v in flat.items() if not k.startswith("privacy.") or k in ("privacy.mode", "privacy.membership_inference")}


def _base_label(cfg: dict | None, rec: dict) -> str:
    if cfg is None:
        return str(rec.get("setup", ""))
    t, data, priv = cfg.get("training", {}), cfg.get("data", {}), cfg.get("privacy", {})
    return base_label(t.get("protocol", "?"), data.get("clients", "?"), priv.get("mode", "none"),
                      priv.get("noise_multiplier", 0))


class _Setting:
    __slots__ = ("sid", "clean", "noise", "cfg", "rec")

    def __init__(self, rec: dict):
        self.sid, self.clean, self.noise = setting_of(rec), clean_of(rec), _active_noise(rec)
        self.cfg, self.rec = _resolved_config(rec), rec


class Grouping:
    """Groups of one record set: ``groups`` (done runs per setting, in report order), ``key(rec)`` for
    any record, ``clean(key)`` for the done runs of a group's clean reference, ``setups`` in order."""

    def __init__(self, records: Iterable[dict]):
        self.records = [r for r in records if isinstance(r, dict)]
        settings: dict[str, _Setting] = {}
        self._sid: list[str] = []
        for r in self.records:
            sid = setting_of(r)
            self._sid.append(sid)
            if sid not in settings:
                settings[sid] = _Setting(r)
        family_of = {sid: (s.clean or f"setup:{_base_label(s.cfg, s.rec)}") for sid, s in settings.items()}
        members: dict[str, list[_Setting]] = defaultdict(list)
        for sid, s in settings.items():
            members[family_of[sid]].append(s)
        labels = self._setup_labels(members)
        self._keys: dict[str, GroupKey] = {}
        for fam, ss in members.items():
            varying = {m: {p for p in NOISE_PARAMS if len({json.dumps(s.noise[m].get(p)) for s in ss
                                                           if m in s.noise}) > 1} for s0 in ss for m in s0.noise}
            for s in ss:
                self._keys[s.sid] = self._key(s, ss, labels[fam], varying)
        done: dict[str, list[dict]] = defaultdict(list)
        for r, sid in zip(self.records, self._sid):
            if is_done(r):
                done[sid].append(r)
        self._done = done
        order = {fam: i for i, fam in enumerate(members)}

        def rank(k: GroupKey):
            fam = family_of[k.setting_id]
            return (order[fam], k.setup != labels[fam], k.setup, not k.is_clean, k.mechanism, k.distribution,
                    k.series, k.level)

        in_order = sorted((self._keys[sid] for sid in done), key=rank)
        self.groups: dict[GroupKey, list[dict]] = {k: done[k.setting_id] for k in in_order}
        #: setup labels in report order: each clean reference's own setup first, then those with fixed extra
        #: mechanisms; every setup with a run, finished or not
        self.setups: list[str] = list(dict.fromkeys(k.setup for k in sorted(self._keys.values(), key=rank)))

    @staticmethod
    def _setup_labels(members: dict[str, list[_Setting]]) -> dict[str, str]:
        flat = {}
        for fam, ss in members.items():
            s = ss[0]
            flat[fam] = _applicable(_flatten({**s.cfg, "noise": {}})) if s.cfg is not None else {}
        keys = sorted({k for f in flat.values() for k in f})
        differ = [k for k in keys if k not in BASE_KEYS and len({f[k] for f in flat.values() if k in f}) > 1]
        shorts = [k.rsplit(".", 1)[-1] for k in differ]
        out: dict[str, str] = {}
        for fam, ss in members.items():
            parts = [_base_label(ss[0].cfg, ss[0].rec)]
            for k, short in zip(differ, shorts):
                if k in flat[fam]:
                    parts.append(f"{short if shorts.count(short) == 1 else k}={flat[fam][k]}")
            out[fam] = " ".join(p for p in parts if p)
        seen: dict[str, int] = defaultdict(int)
        for fam in members:
            seen[out[fam]] += 1
        for fam in members:  # still equal (records without configs): the clean id tells them apart
            if seen[out[fam]] > 1:
                out[fam] = f"{out[fam]} [{fam.removeprefix('setup:')[:8]}]"
        return out

    @staticmethod
    def _key(s: _Setting, family: list[_Setting], setup: str, varying: dict[str, set]) -> GroupKey:
        if not s.noise:
            return GroupKey(setup, "none", "", 0.0, "", s.sid, s.clean)
        names = ordered(s.noise)
        if len(names) == 1:
            x = names[0]
        else:
            same = [o for o in family if set(o.noise) == set(names)]
            x = max(names, key=lambda m: (len({norm_level(o.noise[m].get("level")) for o in same}), -names.index(m)))

        def params(m: str) -> list[str]:
            return [f"{p}={s.noise[m].get(p)}" for p in NOISE_PARAMS if p in varying.get(m, ())]

        others = []  # the mechanisms held fixed belong to the setup label (the clean reference stays the same)
        for m in names:
            if m != x:
                spec = s.noise[m]
                dist = f"/{spec.get('distribution')}" if spec.get("distribution") else ""
                others.append(" ".join([f"+ {m}{dist} σ={format_level(norm_level(spec.get('level')))}", *params(m)]))
        spec = s.noise[x]
        return GroupKey(" ".join([setup, *others]), x, str(spec.get("distribution") or ""), norm_level(spec.get("level")),
                        " ".join(params(x)), s.sid, s.clean)

    def key(self, rec: dict) -> GroupKey:
        return self._keys[setting_of(rec)]

    def clean(self, key: GroupKey) -> list[dict]:
        """Done runs of ``key``'s clean reference setting (empty when it has none or none finished)."""
        return list(self._done.get(key.clean_id, [])) if key.clean_id else []

    def noisy(self) -> dict[GroupKey, list[dict]]:
        return {k: v for k, v in self.groups.items() if not k.is_clean}

    def protocol(self, setup: str) -> str:
        for k, runs in self.groups.items():
            if k.setup == setup and runs and runs[0].get("protocol"):
                return str(runs[0]["protocol"])
        for r in self.records:
            if self.key(r).setup == setup and r.get("protocol"):
                return str(r["protocol"])
        return ""


def group_records(records: Iterable[dict]) -> dict[GroupKey, list[dict]]:
    """Done runs per setting, in report order (setup, clean first, mechanism, distribution, series, level)."""
    return Grouping(records).groups
