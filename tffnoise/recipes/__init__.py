"""Paper reproductions: `python -m tffnoise.recipes.NAME [--preset smoke|paper] [--synthetic] ...`.

Each recipe runs the experiment files in the top-level `recipes/` folder (the single copy of each
figure's settings) through the same runner as `tffnoise run`, then writes the report.
"""
