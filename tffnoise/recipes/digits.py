"""The embedded quick start: scikit-learn digits, periodic averaging with weight noise."""
import sys

from tffnoise.recipes.base import run_recipe

FILES = ['quickstart.toml']

if __name__ == "__main__":
    sys.exit(run_recipe("digits", FILES, __doc__))
