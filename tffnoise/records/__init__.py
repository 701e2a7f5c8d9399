"""Run records: the base every reader of a run store stands on (reports, metrics, the TUI, `tffnoise runs`).

    runs.py    lookups over one record (a plain dict: the index row, its config, history and final metrics)
    labels.py  how a run is named in the store index (setup, swept mechanism, distribution, level)
    groups.py  which runs are repeats of one setting, and which setting is each one's clean reference
    load.py    records read from a run store (the one place `tffnoise report` and the TUI shape them)

Nothing here imports TensorFlow, matplotlib or scipy, so the TUI's process and the light commands read it.
"""
