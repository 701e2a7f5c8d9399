"""Running experiments: the run store, one cell of runs, sweeps with resume, progress output."""
