"""[privacy] attack settings: each refusal names its field (issue 22 items 1-2)."""
import pytest

from tffnoise.config.validate import config_from_dict
from tffnoise.errors import ConfigError


def _cfg(privacy, **top):
    return config_from_dict({"privacy": privacy, **top})


def test_defaults_and_a_valid_choice():
    cfg = config_from_dict({})
    assert cfg.privacy.attacks == ["loss", "trained"] and not cfg.privacy.audit
    assert _cfg({"attacks": ["loss", "lira", "rmia"], "reference_models": 4}).privacy.reference_models == 4


@pytest.mark.parametrize("privacy, top, field", [
    ({"attacks": ["lira", "shadow"]}, {}, "privacy.attacks"),
    ({"attacks": ["lira", "lira"]}, {}, "privacy.attacks"),
    ({"attacks": ["lira"], "membership_inference": False}, {}, "privacy.attacks"),
    ({"reference_models": 4}, {}, "privacy.reference_models"),
    ({"audit_canaries": 50}, {}, "privacy.audit_canaries"),
    ({"attacks": ["rmia"]}, {"engine": "tff"}, "engine"),
    ({"audit": True}, {"engine": "tff"}, "engine"),
    ({"attacks": ["lira"]}, {"data": {"targets": "pm1", "source": "susy", "synthetic": True}}, "data.targets"),
    ({"attacks": ["lira"], "mode": "dp-fedavg"}, {"training": {"protocol": "fedavg"}}, "data.clients"),
])
def test_refusals_name_the_field(privacy, top, field):
    with pytest.raises(ConfigError) as err:
        _cfg(privacy, **top)
    assert err.value.field == field


def test_new_fields_at_their_defaults_keep_the_setting_id():
    from tffnoise.config.schema import Privacy
    from tffnoise.config.sweep import setting_id
    from tffnoise.privacy.attack_config import ATTACK_DEFAULTS

    assert {k: getattr(Privacy(), k) for k in ATTACK_DEFAULTS} == ATTACK_DEFAULTS
    assert setting_id(config_from_dict({})) == "d5581230d61a"   # as before issue 22 (tests/runner/test_status.py)
    assert setting_id(_cfg({"attacks": ["loss", "lira"]})) != "d5581230d61a"
    assert setting_id(_cfg({"audit": True})) != "d5581230d61a"


def test_dp_fedavg_with_enough_clients_is_allowed():
    cfg = _cfg({"attacks": ["lira"], "mode": "dp-fedavg"}, training={"protocol": "fedavg"},
               data={"clients": 100, "source": "digits"})
    assert cfg.data.clients == 100
