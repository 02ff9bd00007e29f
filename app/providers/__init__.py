"""Provider adapters. Each module exposes ``blueprint`` (its callback routes) and may
expose ``cli`` (its admin commands); adding a provider is one module plus one entry here.
"""

from app.providers.hypetech import adapter as hypetech
from app.providers.igpx import adapter as igpx
from app.providers.upside import adapter as upside

PROVIDERS = (igpx, hypetech, upside)
