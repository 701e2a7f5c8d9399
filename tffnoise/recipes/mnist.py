"""Paper 1 Fig. 4.4: MNIST 512-512 ReLU MLP with dropout, noise at every sync."""
import sys

from tffnoise.recipes.base import run_recipe

FILES = ['mnist.toml']

if __name__ == "__main__":
    sys.exit(run_recipe("mnist", FILES, __doc__))
