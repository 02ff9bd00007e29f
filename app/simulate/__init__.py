"""``wallet simulate``: play a provider against a running wallet and check every balance.

``runner`` owns the run (players, threads, retries, the balance check); each provider
module is one small client behind the ``runner.ProviderClient`` interface: it prepares
what the provider needs in the database and plays one round, signing as the provider.
"""
