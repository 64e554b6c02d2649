-- 002_key_rate_limit.sql - a request rate limit per API key.
--
-- NULL: the service's default (key_rate_limit in contacts.conf); 0: no
-- limit; N: at most N requests per second, and bursts of N.
ALTER TABLE api_keys
    ADD COLUMN rate_limit integer CHECK (rate_limit >= 0);
