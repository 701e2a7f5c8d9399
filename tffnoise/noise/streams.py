"""RNG stream ids, TF-free so the mechanism registry can refuse a stream that is already taken.

Streams keep the draws of different purposes apart even with equal counters; a mechanism's entry in the
registry names its stream (the built-ins' are the numbers below); noise/rng.py (the TF side) imports it.
"""
STREAMS = {"init": 1, "weights": 2, "gradient": 3, "label": 4, "input": 5, "hidden": 6,
           "dropout": 7, "order": 8, "sampling": 9, "dp": 10, "label_value": 11, "weights_step": 12}
