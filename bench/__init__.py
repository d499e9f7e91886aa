"""The benchmark suite (issue: benchmark suite and performance targets)."""
