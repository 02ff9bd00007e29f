"""Small measurement scripts beside ``make bench``."""
