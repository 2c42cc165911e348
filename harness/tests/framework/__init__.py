"""uvmlab's pytest framework: run the CLI, read results, prove nothing is left behind."""
