"""Sweeps beyond one machine: each cell of a sweep as one Ray task, the driver the store's only writer.

`config` (the [execution] rules for the Ray backend, no Ray import), `cluster` (join or start Ray),
`task` and `proxy` (what runs on a worker: the cell, with a stand-in store that streams every write
back), `driver` (submits the cells, writes what comes back, retries cells lost with their node),
`status` (the cluster's nodes as JSON in the store, for the TUI, which never imports Ray).
docs/distributed.md says when to use it and what it exposes on the network.
"""
