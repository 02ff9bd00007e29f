"""The wallet core: money, the ledger, the provider-neutral operations, players, reports.

Plain values and a SQLAlchemy ``Connection`` in, plain values out; no Flask, no provider
names, and never a commit (the caller's unit of work commits).
"""
