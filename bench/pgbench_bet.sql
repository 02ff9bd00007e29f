-- One IGPX bet as the product's hot path issues it, minus the Python: lock the player's
-- account (joined to players, as ledger.lock_player_account does), record the provider
-- transaction under its idempotency key, post the journal transaction with its two
-- postings in one statement (the deferred balance trigger runs at commit), move the
-- cached balance. Synchronous commit as configured on the server (on by default).
-- Variables: -D lo=1 -D hi=5000 (player numbers) -D house=<house account id>.
\set n random(:lo, :hi)
\set r random(1, 9000000000000000000)
BEGIN;
SELECT a.id AS acct, a.balance AS bal FROM accounts a JOIN players p ON p.id = a.player_id
 WHERE a.player_id = 'p' || lpad(CAST(:n AS text), 6, '0') AND a.currency = 'USD'
 FOR UPDATE OF a \gset
INSERT INTO provider_transactions (provider, external_id, kind, player_id, currency, amount,
    status, account_id, balance_before, balance_after)
 VALUES ('pgbench', CAST(:client_id AS text) || '-' || CAST(:r AS text), 'bet',
    'p' || lpad(CAST(:n AS text), 6, '0'), 'USD', 1, 'applied', CAST(:acct AS bigint),
    CAST(:bal AS numeric), CAST(:bal AS numeric) - 1)
 ON CONFLICT (provider, external_id) DO NOTHING RETURNING id AS ptx \gset
WITH j AS (INSERT INTO journal_transactions (kind, provider_transaction_id)
           VALUES ('bet', CAST(:ptx AS bigint)) RETURNING id)
INSERT INTO postings (journal_id, account_id, currency, amount)
 SELECT j.id, leg.account_id, 'USD', leg.amount FROM j,
  (VALUES (CAST(:acct AS bigint), CAST(-1 AS numeric)), (CAST(:house AS bigint), 1)) AS leg(account_id, amount);
UPDATE accounts SET balance = balance - 1 WHERE id = CAST(:acct AS bigint) RETURNING balance;
COMMIT;
