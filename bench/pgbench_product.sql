-- The same bet with every statement the product sends today (app/wallet.py): the
-- idempotency lookup, the lock, the tombstone check, the insert, the house-account
-- lookup, the journal + postings, the balance update. (pgbench would read a colon in a
-- literal as a variable, hence chr(58).) The gap between this script and
-- pgbench_bet.sql is the cost of the extra round trips at the SQL level alone.
\set n random(:lo, :hi)
\set r random(1, 9000000000000000000)
BEGIN;
SELECT id FROM provider_transactions
 WHERE provider = 'pgbench' AND external_id = CAST(:client_id AS text) || '-' || CAST(:r AS text);
SELECT a.id AS acct, a.balance AS bal, p.blocked FROM accounts a JOIN players p ON p.id = a.player_id
 WHERE a.player_id = 'p' || lpad(CAST(:n AS text), 6, '0') AND a.currency = 'USD'
 FOR UPDATE OF a \gset
SELECT id FROM provider_transactions WHERE provider = 'pgbench' AND kind = 'rollback'
 AND reference_id = CAST(:client_id AS text) || '-' || CAST(:r AS text) LIMIT 1;
INSERT INTO provider_transactions (provider, external_id, kind, player_id, currency, amount,
    status, account_id, balance_before, balance_after)
 VALUES ('pgbench', CAST(:client_id AS text) || '-' || CAST(:r AS text), 'bet',
    'p' || lpad(CAST(:n AS text), 6, '0'), 'USD', 1, 'applied', CAST(:acct AS bigint),
    CAST(:bal AS numeric), CAST(:bal AS numeric) - 1)
 ON CONFLICT (provider, external_id) DO NOTHING RETURNING id AS ptx \gset
SELECT id AS house FROM accounts WHERE name = 'house' || chr(58) || 'pgbench' AND currency = 'USD' \gset
WITH j AS (INSERT INTO journal_transactions (kind, provider_transaction_id)
           VALUES ('bet', CAST(:ptx AS bigint)) RETURNING id)
INSERT INTO postings (journal_id, account_id, currency, amount)
 SELECT j.id, leg.account_id, 'USD', leg.amount FROM j,
  (VALUES (CAST(:acct AS bigint), CAST(-1 AS numeric)), (CAST(:house AS bigint), 1)) AS leg(account_id, amount);
UPDATE accounts SET balance = balance - 1 WHERE id = CAST(:acct AS bigint) RETURNING balance;
COMMIT;
