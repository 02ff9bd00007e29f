"""wallet_transfer(): a bet, win, deposit or withdrawal in one statement.

The provider-neutral rules of ``app.wallet`` for money moving between a player's account
and a counterparty account, as one PL/pgSQL function, so a callback costs one round trip
(one statement in autocommit) instead of five (``BEGIN``, lookup, lock, write,
``COMMIT``), and the player's row lock is held only while PostgreSQL runs it, not while
Python waits for answers. Rollbacks stay in Python (``app.wallet``).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 22:00:00
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Steps, in the order app/wallet.py documents them:
# 1. the stored outcome of (provider, external_id), if any: a replay, no lock taken;
# 2. the player's account row locked (no row: nothing is returned and the caller says
#    which of player or currency is missing);
# 3. the outcome decided under the lock: a rollback recorded first for this bet or win
#    cancels it (a tombstone); a bet by a blocked player and a debit past the balance
#    are declined; anything else moves the amount;
# 4. the provider transaction recorded under its unique key; if a concurrent duplicate
#    committed first, its row is returned as a replay;
# 5. the journal transaction and its two postings, and the cached balance moved.
# Every statement of a VOLATILE function takes a fresh snapshot, so 4 sees a duplicate
# that committed while 2 waited. 'rollback' is a literal so the partial index on
# rollbacks serves the tombstone check in a generic plan.
# The stored outcome of (provider, external_id), as a replay.
WALLET_RECORDED = """
CREATE FUNCTION wallet_recorded(provider_ text, external_id_ text)
RETURNS TABLE (
    id bigint, external_id text, kind text, status text, reason text, player_id text,
    currency text, amount numeric, reference_id text, account_id bigint,
    balance_before numeric, balance_after numeric, replayed boolean
) LANGUAGE sql STABLE AS $$
    SELECT t.id, t.external_id::text, t.kind::text, t.status::text, t.reason::text,
           t.player_id::text, t.currency::text, t.amount::numeric, t.reference_id::text,
           t.account_id, t.balance_before::numeric, t.balance_after::numeric, true
    FROM provider_transactions t
    WHERE t.provider = provider_ AND t.external_id = external_id_
$$
"""

WALLET_TRANSFER = """
CREATE FUNCTION wallet_transfer(
    provider_ text, external_id_ text, kind_ text, player_id_ text, currency_ text,
    amount_ numeric, reference_id_ text, counterparty_ text, details_ jsonb
) RETURNS TABLE (
    id bigint, external_id text, kind text, status text, reason text, player_id text,
    currency text, amount numeric, reference_id text, account_id bigint,
    balance_before numeric, balance_after numeric, replayed boolean
) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    acct record;
    delta numeric := 0;
    status_ text := 'applied';
    reason_ text;
    recorded bigint;
    other bigint;
    journal bigint;
BEGIN
    IF kind_ NOT IN ('bet', 'win', 'deposit', 'withdrawal') THEN
        RAISE EXCEPTION 'wallet_transfer does not handle %', kind_;
    END IF;
    RETURN QUERY SELECT * FROM wallet_recorded(provider_, external_id_);
    IF FOUND THEN
        RETURN;
    END IF;

    SELECT a.id, a.balance, p.blocked INTO acct
    FROM accounts a JOIN players p ON p.id = a.player_id
    WHERE a.player_id = player_id_ AND a.currency = currency_
    FOR UPDATE OF a;
    IF NOT FOUND THEN
        RETURN;
    END IF;

    IF kind_ IN ('bet', 'win') AND EXISTS (
        SELECT 1 FROM provider_transactions r
        WHERE r.provider = provider_ AND r.kind = 'rollback' AND r.reference_id = external_id_
    ) THEN
        status_ := CASE kind_ WHEN 'bet' THEN 'declined' ELSE 'cancelled' END;
        reason_ := 'cancelled';
    ELSIF kind_ = 'bet' AND acct.blocked THEN
        status_ := 'declined';
        reason_ := 'player_blocked';
    ELSIF kind_ IN ('bet', 'withdrawal') AND acct.balance < amount_ THEN
        status_ := 'declined';
        reason_ := 'insufficient_funds';
    ELSIF kind_ IN ('bet', 'withdrawal') THEN
        delta := -amount_;
    ELSE
        delta := amount_;
    END IF;

    INSERT INTO provider_transactions AS t (provider, external_id, kind, player_id, currency,
        amount, reference_id, status, reason, account_id, balance_before, balance_after, details)
    VALUES (provider_, external_id_, kind_, player_id_, currency_, amount_, reference_id_,
        status_, reason_, acct.id, acct.balance, acct.balance + delta, details_)
    ON CONFLICT (provider, external_id) DO NOTHING
    RETURNING t.id INTO recorded;
    IF recorded IS NULL THEN
        RETURN QUERY SELECT * FROM wallet_recorded(provider_, external_id_);
        RETURN;
    END IF;

    IF delta <> 0 THEN
        SELECT s.id INTO other FROM accounts s
        WHERE s.name = counterparty_ AND s.currency = currency_;
        IF other IS NULL THEN
            INSERT INTO accounts (name, currency) VALUES (counterparty_, currency_)
            ON CONFLICT (name, currency) DO NOTHING;
            SELECT s.id INTO STRICT other FROM accounts s
            WHERE s.name = counterparty_ AND s.currency = currency_;
        END IF;
        INSERT INTO journal_transactions AS j (kind, provider_transaction_id)
        VALUES (kind_, recorded) RETURNING j.id INTO journal;
        INSERT INTO postings (journal_id, account_id, currency, amount)
        VALUES (journal, acct.id, currency_, delta), (journal, other, currency_, -delta);
        UPDATE accounts SET balance = balance + delta WHERE accounts.id = acct.id;
    END IF;

    RETURN QUERY SELECT recorded, external_id_, kind_, status_, reason_, player_id_, currency_,
        amount_, reference_id_, acct.id::bigint, acct.balance::numeric,
        (acct.balance + delta)::numeric, false;
END
$$
"""


def upgrade() -> None:
    op.execute(WALLET_RECORDED)
    op.execute(WALLET_TRANSFER)


def downgrade() -> None:
    op.execute(
        "DROP FUNCTION wallet_transfer(text, text, text, text, text, numeric, text, text, jsonb)"
    )
    op.execute("DROP FUNCTION wallet_recorded(text, text)")
