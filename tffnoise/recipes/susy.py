"""Paper 1 Figs. 4.2 and 4.3: SUSY 32-64-2 sigmoid net, initialization noise (cumulative training loss) and noise at every sync (test accuracy), m = 10 and 20."""
import sys

from tffnoise.recipes.base import run_recipe

FILES = ['susy-init.toml', 'susy.toml']

if __name__ == "__main__":
    sys.exit(run_recipe("susy", FILES, __doc__))
