"""Experiment configuration: schema, validation, TOML I/O, sweeps."""
from tffnoise.config.load import apply_overrides, load_config, load_dict, parse_override, to_toml
from tffnoise.config.schema import Config, NoiseSpec
from tffnoise.config.sweep import RunSpec, expand, setting_id
from tffnoise.config.validate import config_from_dict

__all__ = ["Config", "NoiseSpec", "RunSpec", "apply_overrides", "config_from_dict", "expand",
           "load_config", "load_dict", "parse_override", "setting_id", "to_toml"]
