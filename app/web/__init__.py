"""Around the provider callbacks: health, metrics, the OpenAPI document, the audit trail
of raw callbacks, and how JSON answers are written. Nothing here depends on a provider:
what a provider adds (routes, OpenAPI operations, headers to redact) comes from the
registry the app was built with.
"""
