"""The provider registry: one line per provider package (see :mod:`app.providers.registry`).

Adding a provider is one package exporting ``PROVIDER`` plus one entry here.
"""

from app.providers import hypetech, igpx, upside

PROVIDERS = (
    igpx.PROVIDER,
    hypetech.PROVIDER,
    upside.PROVIDER,
)
