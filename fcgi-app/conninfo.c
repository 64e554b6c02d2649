/* conninfo.c - libpq connection strings with their secrets masked. */
#include "conninfo.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <string.h>

#include "buf.h"

/* Does a dbname value look like a connection string of its own (the test
 * of libpq's recognized_connection_string(), by which PQconnectdbParams
 * expands one)? */
static bool is_conninfo(const char *s)
{
	return strncmp(s, "postgresql://", 13) == 0 ||
	       strncmp(s, "postgres://", 11) == 0 || strchr(s, '=') != NULL;
}

/* A value as the keyword form needs it: bare when it is plain, else in
 * single quotes with ' and \ escaped. */
static void put_value(struct buf *out, const char *v)
{
	bool plain = *v != '\0' && strpbrk(v, " \t\n\r\f\v'\\=") == NULL;

	if (plain) {
		buf_puts(out, v);
		return;
	}
	buf_putc(out, '\'');
	for (; *v; v++) {
		if (*v == '\'' || *v == '\\')
			buf_putc(out, '\\');
		buf_putc(out, *v);
	}
	buf_putc(out, '\'');
}

static int mask_into(struct buf *out, const char *conninfo, int depth)
{
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);

	if (!opts)
		return -1;
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (!o->val)
			continue;
		if (out->len)
			buf_putc(out, ' ');
		buf_puts(out, o->keyword);
		buf_putc(out, '=');
		if (o->dispchar && o->dispchar[0] == '*') {
			buf_puts(out, CONNINFO_MASK);
		} else if (strcmp(o->keyword, "dbname") == 0 && is_conninfo(o->val)) {
			struct buf inner;

			/* libpq expands a dbname once at most: no deeper. */
			buf_init(&inner);
			buf_append(&inner, "", 0);
			if (depth > 0 || mask_into(&inner, o->val, depth + 1) < 0)
				buf_puts(out, CONNINFO_MASK);
			else
				put_value(out, inner.data);
			buf_cleanup(&inner);
		} else {
			put_value(out, o->val);
		}
	}
	PQconninfoFree(opts);
	return 0;
}

char *conninfo_masked(const char *conninfo)
{
	struct buf out;

	buf_init(&out);
	buf_append(&out, "", 0); /* storage even for an empty string */
	if (mask_into(&out, conninfo, 0) < 0) {
		buf_cleanup(&out);
		return NULL;
	}
	return out.data;
}
