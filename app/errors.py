"""One hierarchy of domain errors. Providers map these to their own protocol codes."""


class WalletError(Exception):
    """Base of every error the wallet reports to a caller on purpose."""


class InvalidRequest(WalletError):
    """The request is malformed: missing or ill-typed fields, bad JSON, too large."""


class InvalidAmount(InvalidRequest):
    """An amount that is not an exact, non-negative value in the currency's precision."""


class UnknownCurrency(InvalidRequest):
    """A currency code the wallet does not know."""


class InvalidSignature(WalletError):
    """The request's signature is missing, malformed, or does not match."""


class UnknownPlayer(WalletError):
    """No player with this id."""


class CurrencyNotEnabled(WalletError):
    """The player exists but has no wallet in this currency."""


class TransactionConflict(WalletError):
    """A provider transaction id was reused with a different payload."""


class PlayerAlreadyExists(WalletError):
    """A player with this id exists already."""
