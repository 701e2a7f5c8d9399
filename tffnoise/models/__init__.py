"""Model builders: the papers' architectures as plain Keras functions (see builders.py)."""
