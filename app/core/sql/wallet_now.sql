-- wallet_now(): the time the money rules go by. It is now(), the start of the statement's
-- transaction (so it equals the created_at a row gets by default), unless the session
-- set wallet.now: tests move the clock that way (SET wallet.now = '…') to cross a period
-- boundary or a cooling-off delay without sleeping. The application never sets it.
DROP FUNCTION IF EXISTS wallet_now();
CREATE FUNCTION wallet_now() RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('wallet.now', true), '')::timestamptz, now())
$$;
