"""Paper 1 Fig. 4.1: a linear 32-64-1 net on SUSY, squared loss, uniform weight noise decayed as eps/k after the k-th sync (Lemma 1)."""
import sys

from tffnoise.recipes.base import run_recipe

FILES = ['susy-linear.toml']

if __name__ == "__main__":
    sys.exit(run_recipe("susy_linear", FILES, __doc__))
