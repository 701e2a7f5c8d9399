"""Which `[privacy]` attack settings make sense together; called once from config validation.

TF-free and NumPy-free: config validation runs in the TUI and in `--help`.
"""
from __future__ import annotations

from tffnoise.errors import ConfigError

ATTACKS = ("loss", "trained", "lira", "rmia")
DEFAULT_ATTACKS = ["loss", "trained"]
STRONG = ("lira", "rmia")
# The [privacy] fields issue 22 added, at their defaults: left out of the setting id (config.sweep), so
# stores written before them keep their run ids. Kept equal to the schema's defaults by a test.
ATTACK_DEFAULTS = {"attacks": DEFAULT_ATTACKS, "reference_models": 16, "audit": False, "audit_canaries": 1000}
# Issue 22: "Client-level membership for DP-FedAvg is measured only with at least 100 clients ... 3-10
# targets give no statistic."
MIN_CLIENTS_DP_FEDAVG = 100


def strong(cfg) -> list[str]:
    return [a for a in cfg.privacy.attacks if a in STRONG]


def client_level(cfg) -> bool:
    """The strong attacks score clients, not examples (privacy/client_level.py): DP-FedAvg protects clients."""
    return cfg.privacy.mode == "dp-fedavg" and bool(strong(cfg))


def check_attacks(cfg) -> None:
    p = cfg.privacy
    allowed = "a list of distinct names from " + ", ".join(repr(a) for a in ATTACKS)
    if any(not isinstance(a, str) or a not in ATTACKS for a in p.attacks) or len(set(p.attacks)) != len(p.attacks):
        raise ConfigError("privacy.attacks", p.attacks, allowed)
    if not p.membership_inference and p.attacks != DEFAULT_ATTACKS:
        raise ConfigError("privacy.attacks", p.attacks,
                          f"{DEFAULT_ATTACKS!r} (the default): privacy.membership_inference = false runs no attack")
    chosen = strong(cfg) if p.membership_inference else []
    if not chosen and p.reference_models != ATTACK_DEFAULTS["reference_models"]:
        raise ConfigError("privacy.reference_models", p.reference_models,
                          "16 (the default): only 'lira' and 'rmia' in privacy.attacks train reference models")
    if not p.audit and p.audit_canaries != ATTACK_DEFAULTS["audit_canaries"]:
        raise ConfigError("privacy.audit_canaries", p.audit_canaries,
                          "1000 (the default): canaries are inserted only with privacy.audit = true")
    if p.audit and not p.membership_inference:
        raise ConfigError("privacy.audit", True, "false unless privacy.membership_inference = true (the audit "
                          "scores its canaries in the attack phase)")
    if chosen or p.audit:
        what = "privacy.attacks " + "/".join(chosen) if chosen else "privacy.audit"
        if cfg.engine != "stacked":
            raise ConfigError("engine", cfg.engine, f"'stacked' with {what} (reference models and canaries are "
                              "trained as extra stacked models; as sequential TFF processes they would be far too slow)")
        if cfg.data.targets != "labels":
            raise ConfigError("data.targets", cfg.data.targets, f"'labels' with {what} (they score the "
                              "probability of the true class)")
    if chosen and p.mode == "dp-fedavg" and cfg.data.clients < MIN_CLIENTS_DP_FEDAVG:
        raise ConfigError("data.clients", cfg.data.clients,
                          f">= {MIN_CLIENTS_DP_FEDAVG} with privacy.mode = 'dp-fedavg' and privacy.attacks "
                          f"{'/'.join(chosen)}: DP-FedAvg protects clients, and fewer clients give no statistic")
    if chosen and p.mode == "dp-fedavg" and p.audit:
        raise ConfigError("privacy.audit", True, "false with privacy.mode = 'dp-fedavg' and privacy.attacks "
                          f"{'/'.join(chosen)}: the client-level attacks need clients of equal size, and the "
                          "audit's canaries make them unequal")
