"""Measuring stsr: motion analysis, synthetic anime scenes with ground truth, the demo sample."""
