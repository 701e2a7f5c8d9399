"""Paper 2: CIFAR-10 CNNs (about 2.4M, 22M, 43M parameters), five noise mechanisms x levels, centralized vs 3 federated clients x 20 rounds."""
import sys

from tffnoise.recipes.base import run_recipe

FILES = ['cifar.toml']

if __name__ == "__main__":
    sys.exit(run_recipe("cifar", FILES, __doc__))
