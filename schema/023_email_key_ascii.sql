-- 023_email_key_ascii.sql - an email key without ICU when the email is
-- ASCII (issue 13: B1, B2, the bulk imports).
--
-- email_key() lower-cased every email with ICU: the text converted to
-- UTF-16 and back, about 0.5 µs an email, once for each row of a bulk
-- request and for each single write's look-up.  For an ASCII email (every
-- character one byte) ICU's lower case is ASCII's (A-Z to a-z, nothing
-- else), which the "C" collation's lower() gives without ICU, in half the
-- time; any other email goes to ICU as before, so that every key is the
-- same as the one already stored.  Still a simple SQL expression, inlined
-- into its callers.
CREATE OR REPLACE FUNCTION email_key(p_email text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN octet_length(p_email) = char_length(p_email)
                THEN lower(p_email COLLATE "C") COLLATE "default"
                ELSE lower(p_email COLLATE "und-x-icu") COLLATE "default" END
$$;
