-- ledger_post(): the one writer of journal transactions and postings.
-- One journal transaction with its legs; a leg on a player account moves that account's
-- cached balance in the same statement (the UPDATE takes the row lock, if the caller does
-- not hold it already). System accounts keep no cached balance and are never locked, so
-- bets on different players do not wait for each other. The deferred trigger on postings
-- checks at commit that the legs balance per currency.
DROP FUNCTION IF EXISTS ledger_post(text, bigint, bigint[], text[], numeric[]);
CREATE FUNCTION ledger_post(
    kind_ text, provider_transaction_id_ bigint,
    account_ids_ bigint[], currencies_ text[], amounts_ numeric[]
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    journal bigint;
BEGIN
    INSERT INTO journal_transactions AS j (kind, provider_transaction_id)
    VALUES (kind_, provider_transaction_id_) RETURNING j.id INTO journal;
    INSERT INTO postings (journal_id, account_id, currency, amount)
    SELECT journal, leg.account_id, leg.currency, leg.amount
    FROM unnest(account_ids_, currencies_, amounts_) AS leg(account_id, currency, amount);
    UPDATE accounts a SET balance = a.balance + moved.total
    FROM (SELECT leg.account_id, sum(leg.amount) AS total
          FROM unnest(account_ids_, amounts_) AS leg(account_id, amount)
          GROUP BY leg.account_id) AS moved
    WHERE a.id = moved.account_id AND a.player_id IS NOT NULL;
    RETURN journal;
END
$$;
