"""Noise mechanisms vs DP-SGD and DP-FedAvg on the same task: accuracy, epsilon and membership-inference AUC."""
import sys

from tffnoise.recipes.base import run_recipe

FILES = ['dp-baseline.toml']

if __name__ == "__main__":
    sys.exit(run_recipe("dp_baseline", FILES, __doc__))
