/* timefmt.h - timestamps as the API shows them: 2020-10-22T14:55:52.638Z */
#ifndef CONTACTS_TIMEFMT_H
#define CONTACTS_TIMEFMT_H

#include <stdint.h>

#define TIMEFMT_LEN 24 /* characters, without the NUL */

/* PostgreSQL's binary timestamptz: microseconds since 2000-01-01 00:00 UTC. */
int64_t timefmt_pg_to_unix_ms(int64_t pg_usec);

/* Formats milliseconds since the Unix epoch (UTC, years 0001-9999) into out
 * (TIMEFMT_LEN + 1 bytes).  Returns 0, or -1 when the year is out of range. */
int timefmt_iso_ms(int64_t unix_ms, char out[TIMEFMT_LEN + 1]);

#endif
