/* query.h - the query-string parser and typed parameter readers.
 *
 * query_parse() splits an application/x-www-form-urlencoded string into
 * name/value pairs, percent-decoding both ('+' is a space).  The pairs point
 * into storage owned by the struct query, released by query_cleanup().
 */
#ifndef CONTACTS_QUERY_H
#define CONTACTS_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QUERY_MAX_PARAMS 32

struct query_param {
	const char *name;  /* NUL-terminated, decoded */
	const char *value; /* NUL-terminated, decoded; may contain NULs before len */
	size_t value_len;
};

/* The longest parameter name query_parse() can name as the one at fault. */
#define QUERY_NAME_MAX 64

struct query {
	struct query_param params[QUERY_MAX_PARAMS];
	size_t count;
	char *buf; /* owned */
	/* After a failed query_parse(): the decoded name of the parameter
	 * whose value is malformed, or "" when the fault is not in one value
	 * (a malformed name, too many parameters). */
	char bad_name[QUERY_NAME_MAX];
};

enum query_status {
	QUERY_OK = 0,       /* present and valid */
	QUERY_ABSENT = 1,   /* not given: the default was stored */
	QUERY_INVALID = -1, /* given but malformed, or given more than once */
};

/* Parses qs (may be NULL or empty).  Returns 0, or -1 when the string is
 * malformed (bad percent escape, a NUL or a byte that is not UTF-8 in a
 * name or value, too many parameters, out of memory), with q->bad_name set.
 * Parameters past QUERY_MAX_PARAMS make the whole string malformed. */
int query_parse(struct query *q, const char *qs)
	__attribute__((warn_unused_result));
void query_cleanup(struct query *q);

/* Finds a parameter; returns NULL when absent.  *count (may be NULL) gets
 * how many times it was given. Borrowed pointer. */
const struct query_param *query_find(const struct query *q, const char *name,
				     size_t *count);

/* A decimal integer in [min, max] written with digits only (no sign, no
 * space, no leading '+', at most 10 digits).  On QUERY_ABSENT *out = def. */
enum query_status query_get_int(const struct query *q, const char *name,
				int64_t min, int64_t max, int64_t def,
				int64_t *out);

/* "true" or "false" exactly.  On QUERY_ABSENT *out = def. */
enum query_status query_get_bool(const struct query *q, const char *name,
				 bool def, bool *out);

/* A string parameter; *out is borrowed from q.  Absent: *out = NULL. A value
 * given twice is QUERY_INVALID. */
enum query_status query_get_str(const struct query *q, const char *name,
				const char **out, size_t *out_len);

#endif
