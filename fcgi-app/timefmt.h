/* timefmt.h - timestamps as the API shows them: 2020-10-22T14:55:52.638Z */
#ifndef CONTACTS_TIMEFMT_H
#define CONTACTS_TIMEFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TIMEFMT_LEN 24 /* characters, without the NUL */

/* PostgreSQL's binary timestamptz: microseconds since 2000-01-01 00:00 UTC. */
int64_t timefmt_pg_to_unix_ms(int64_t pg_usec);

/* Formats milliseconds since the Unix epoch (UTC, years 0001-9999) into out
 * (TIMEFMT_LEN + 1 bytes).  Returns 0, or -1 when the year is out of range. */
int timefmt_iso_ms(int64_t unix_ms, char out[TIMEFMT_LEN + 1]);

/* "2020-10-22 14:55:52.638000+00:00": what timefmt_parse_iso() writes. */
#define TIMEFMT_PG_LEN 32
/* Parses an ISO 8601 time as a client may give one: YYYY-MM-DD (midnight
 * UTC), or YYYY-MM-DDTHH:MM:SS, an optional fraction (1-9 digits, kept to
 * microseconds) and Z or +HH:MM / -HH:MM.  Checks every field (2021-02-30
 * is refused), and writes it in one unambiguous form for PostgreSQL.
 * Returns 0, or -1.  Pure; safe on any bytes. */
int timefmt_parse_iso(const char *s, size_t len, char out[TIMEFMT_PG_LEN + 1])
	__attribute__((warn_unused_result));

#endif
