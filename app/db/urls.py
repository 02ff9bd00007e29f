"""``DATABASE_URL`` as SQLAlchemy and libpq each read it, one host or several."""

from __future__ import annotations

from psycopg.conninfo import conninfo_to_dict


def sqlalchemy_url(libpq_url: str) -> str:
    """Pick the driver ourselves: ``postgresql://…`` becomes ``postgresql+psycopg://…``.

    SQLAlchemy reads one ``host:port`` from a URL's authority, so libpq's list of hosts
    (``postgresql://u@h1:5432,h2:5433/db?target_session_attrs=read-write``) moves into the
    query as SQLAlchemy spells it (``…@/db?host=h1:5432&host=h2:5433&…``), which it hands
    to libpq as the same list. The engine's own connections get the URL itself
    (:func:`make_engine`). Several hosts and no ``target_session_attrs`` get
    ``read-write``: the wallet only ever wants the primary."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if libpq_url.startswith(prefix):
            return "postgresql+psycopg://" + _hosts_in_query(libpq_url[len(prefix) :])
    raise ValueError("DATABASE_URL must start with postgresql://")


def _hosts_in_query(rest: str) -> str:
    head, _, query = rest.partition("?")
    authority, _, database = head.partition("/")
    user, at, hosts = authority.rpartition("@")
    if "," not in hosts:
        return rest
    params = [f"host={host}" for host in hosts.split(",")] + ([query] if query else [])
    if "target_session_attrs=" not in query:
        params.append("target_session_attrs=read-write")
    return f"{user}{at}/{database}?{'&'.join(params)}"


def needs_the_primary_named(libpq_url: str) -> bool:
    """Several hosts and no ``target_session_attrs``: libpq would take the first that
    answers, a standby as soon as a primary."""
    given = conninfo_to_dict(for_libpq(libpq_url))
    return "," in str(given.get("host", "")) and "target_session_attrs" not in given


def for_libpq(url: str) -> str:
    """``postgresql+psycopg://…`` (which the settings accept) as libpq reads it."""
    return "postgresql://" + url.split("://", 1)[1]
