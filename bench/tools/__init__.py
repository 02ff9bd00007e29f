"""Tools to look into one cost more closely than `make bench` does; not run by it."""
