"""Why an Upside game action is refused. Each class carries the stable ``code`` workers see;
the adapter maps the five families to HTTP 401, 403, 404, 409, 422 and 429.

A declined stake is not among them: it is committed (the session is recorded as failed),
so it is a result, :class:`app.providers.upside.sessions.Declined`, which the adapter
answers 422 ``INSUFFICIENT_BALANCE`` or 403 ``PLAYER_BLOCKED``."""

from __future__ import annotations

from app.errors import WalletError


class UpsideError(WalletError):
    code = "UPSIDE_ERROR"


# --- 401: who is calling could not be established ---------------------------------------
class AuthenticationFailed(UpsideError):
    code = "AUTHENTICATION_FAILED"


# --- 403: known caller, not allowed -------------------------------------------------------
class NotAllowed(UpsideError):
    code = "FORBIDDEN"


class KeyExpired(NotAllowed):
    code = "API_KEY_EXPIRED"


class AddressNotAllowed(NotAllowed):
    code = "IP_NOT_ALLOWED"


class GameNotAllowed(NotAllowed):
    code = "GAME_NOT_ALLOWED"


class SessionOfAnotherPlayer(NotAllowed):
    code = "SESSION_OF_ANOTHER_PLAYER"


class SessionOfAnotherGame(NotAllowed):
    code = "SESSION_OF_ANOTHER_GAME"


# --- 404 ------------------------------------------------------------------------------------
class NotFound(UpsideError):
    code = "NOT_FOUND"


class GameNotFound(NotFound):
    code = "GAME_NOT_FOUND"


class SessionNotFound(NotFound):
    code = "SESSION_NOT_FOUND"


# --- 409: the session cannot take this step again ----------------------------------------
class Conflict(UpsideError):
    code = "CONFLICT"


class ReplayedRequest(Conflict):
    """The same signed request came again: it was (or is being) processed once already."""

    code = "REPLAYED_REQUEST"


class SessionAlreadyUsed(Conflict):
    code = "SESSION_ALREADY_USED"


class PayoutInProgress(Conflict):
    code = "PAYOUT_IN_PROGRESS"


class SessionAlreadyFinished(Conflict):
    code = "SESSION_ALREADY_FINISHED"


class PayoutAlreadyProcessed(Conflict):
    code = "PAYOUT_ALREADY_PROCESSED"


# --- 422: well-formed, but the money does not allow it -----------------------------------
class Unprocessable(UpsideError):
    code = "UNPROCESSABLE"


class BetAboveMaxBet(Unprocessable):
    code = "BET_ABOVE_MAX_BET"


class LimitExceeded(Unprocessable):
    code = "LIMIT_EXCEEDED"


class GameInactive(Unprocessable):
    code = "GAME_INACTIVE"


class PayoutAboveMaximum(Unprocessable):
    code = "PAYOUT_ABOVE_MAXIMUM"


class PoolCannotPay(Unprocessable):
    code = "POOL_CANNOT_PAY"


# --- 429 ------------------------------------------------------------------------------------
class RateLimited(UpsideError):
    code = "RATE_LIMITED"
