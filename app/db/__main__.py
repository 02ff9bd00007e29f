"""``python -m app.db`` prints the URL of the embedded server's wallet database, starting
the server if needed; ``python -m app.db stop`` stops it (``make db-stop``)."""

import sys

from app.db import embedded

USAGE = "usage: python -m app.db [stop]"

if sys.argv[1:] == ["stop"]:
    done = "stopped" if embedded.stop() else "was not running"
    print(f"the embedded PostgreSQL in {embedded.DATA_DIR} {done}")
elif not sys.argv[1:]:
    print(embedded.database_url())
else:
    sys.exit(USAGE)
