-- One IGPX bet as the product sends it (app/core/wallet.py, _TRANSFER): one call of
-- wallet_transfer() (app/core/sql/) with its nine arguments, in autocommit, prepared.
-- The gap between this script and pgbench_bet.sql is what the function does beyond the
-- minimal bet: the idempotency lookup, the tombstone check, the counterparty account
-- found by name. (pgbench would read a colon in a literal as a variable, hence chr(58).)
-- Variables: -D lo=1 -D hi=5000 (player numbers).
\set n random(:lo, :hi)
\set r random(1, 9000000000000000000)
SELECT * FROM wallet_transfer(CAST('pgbench' AS text),
    CAST(:client_id AS text) || '-' || CAST(:r AS text), CAST('bet' AS text),
    'p' || lpad(CAST(:n AS text), 6, '0'), CAST('USD' AS text), CAST(1 AS numeric),
    CAST(NULL AS text), 'house' || chr(58) || 'pgbench', CAST(NULL AS jsonb));
