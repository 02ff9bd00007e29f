"""The benchmark harness: `make bench` (bench/run.py) and `make bench-pooler` (bench/pooler.py)."""
