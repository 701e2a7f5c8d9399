"""Training algorithms: the prepared problem, the stacked engine and the TFF engine."""
