"""The wallet core: money, the ledger and the provider-neutral money rules. No Flask here."""
