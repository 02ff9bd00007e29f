"""``python -m app.db`` prints the URL of the embedded server's wallet database, starting
the server if needed; ``python -m app.db stop`` stops it (``make db-stop``)."""

import sys

from app.db import embedded

if sys.argv[1:] == ["stop"]:
    embedded.stop()
else:
    print(embedded.database_url())
