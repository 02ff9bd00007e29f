"""Flask's JSON answers rendered by orjson.

The same documents as Flask's default provider (keys sorted, Flask's own fallback for
dates, decimals and dataclasses; non-ASCII text as UTF-8 instead of ``\\u`` escapes,
which is the same JSON) for a fraction of the CPU: every callback's answer goes through
here. Anything orjson refuses (an integer past 64 bits, say) goes to the default provider.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask.json.provider import DefaultJSONProvider
from werkzeug.sansio.response import Response

_OPTIONS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_NON_STR_KEYS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
)
_NEWLINE = orjson.OPT_APPEND_NEWLINE
_COMPACT = {"separators": (",", ":")}


class OrjsonProvider(DefaultJSONProvider):
    def dumps(self, obj: Any, **kwargs: Any) -> str:
        if kwargs and kwargs != _COMPACT:  # indented (debug) or other options
            return super().dumps(obj, **kwargs)
        try:
            return orjson.dumps(obj, default=self.default, option=_OPTIONS).decode()
        except orjson.JSONEncodeError:
            return super().dumps(obj, **kwargs)

    def response(self, *args: Any, **kwargs: Any) -> Response:
        """``jsonify``: the document as bytes, newline included, straight from orjson (no
        text round trip); readable (indented) output as Flask gives it."""
        if (self.compact is None and self._app.debug) or self.compact is False:
            return super().response(*args, **kwargs)
        obj = self._prepare_response_obj(args, kwargs)
        try:
            body = orjson.dumps(obj, default=self.default, option=_OPTIONS | _NEWLINE)
        except orjson.JSONEncodeError:
            return super().response(*args, **kwargs)
        return self._app.response_class(body, mimetype=self.mimetype)  # type: ignore[arg-type]
