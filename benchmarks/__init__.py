"""Benchmark scripts: print figures (with ratios against references measured in the same run)."""
