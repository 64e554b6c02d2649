/* query.c - the query-string parser and typed parameter readers.
 *
 * query_parse() decodes every pair into one buffer the size of the input:
 * a pair "name=value" decodes to at most as many bytes as it has, with the
 * '=' becoming the name's NUL and the '&' after it (or the input's NUL) the
 * value's.  A pair without '=' gets the empty value "" from static storage,
 * so its name needs only its own bytes plus one.
 */
#include "query.h"

#include <stdlib.h>
#include <string.h>

#include "validate.h"

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes src[0..n) into dst ('+' is a space, %XX a byte) and NUL-terminates
 * it.  Returns the decoded length, or -1 on a bad or truncated escape. */
static long decode(const char *src, size_t n, char *dst)
{
	size_t i = 0, w = 0;

	while (i < n) {
		char c = src[i];

		if (c == '+') {
			dst[w++] = ' ';
			i++;
		} else if (c == '%') {
			int hi, lo;

			if (n - i < 3)
				return -1;
			hi = hex_value((unsigned char)src[i + 1]);
			lo = hex_value((unsigned char)src[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			dst[w++] = (char)(hi << 4 | lo);
			i += 3;
		} else {
			dst[w++] = c;
			i++;
		}
	}
	dst[w] = '\0';
	return (long)w;
}

/* Decodes one non-empty pair src[0..n) into buf at *pos. */
static int parse_pair(struct query *q, const char *src, size_t n, size_t *pos)
{
	struct query_param *p = &q->params[q->count];
	const char *eq = memchr(src, '=', n);
	size_t name_n = eq ? (size_t)(eq - src) : n;
	char *name = q->buf + *pos;
	long got;

	got = decode(src, name_n, name);
	if (got < 0)
		return -1;
	/* A name is a C string: an encoded NUL in it would make "a%00b" look
	 * like "a" to every reader, so such a string is malformed; so is one
	 * that is not UTF-8 text. */
	if (memchr(name, '\0', (size_t)got) || !utf8_valid(name, (size_t)got))
		return -1;
	*pos += (size_t)got + 1;
	p->name = name;
	if (eq) {
		char *value = q->buf + *pos;

		got = decode(eq + 1, n - name_n - 1, value);
		/* Values are text as well, whichever parameter (known or not)
		 * they belong to: no NUL, valid UTF-8. */
		if (got < 0 || memchr(value, '\0', (size_t)got) ||
		    !utf8_valid(value, (size_t)got)) {
			if (strlen(name) < sizeof(q->bad_name))
				memcpy(q->bad_name, name, strlen(name) + 1);
			return -1;
		}
		*pos += (size_t)got + 1;
		p->value = value;
		p->value_len = (size_t)got;
	} else {
		p->value = "";
		p->value_len = 0;
	}
	q->count++;
	return 0;
}

int query_parse(struct query *q, const char *qs)
{
	const char *s, *end;
	size_t len, pos = 0;

	q->count = 0;
	q->buf = NULL;
	q->bad_name[0] = '\0';
	if (!qs || !*qs)
		return 0;
	len = strlen(qs);
	q->buf = malloc(len + 1);
	if (!q->buf)
		return -1;

	s = qs;
	end = qs + len;
	while (s < end) {
		const char *amp = memchr(s, '&', (size_t)(end - s));
		size_t n = amp ? (size_t)(amp - s) : (size_t)(end - s);

		if (n > 0) { /* "&&" and a leading or trailing '&' are skipped */
			if (q->count == QUERY_MAX_PARAMS ||
			    parse_pair(q, s, n, &pos) < 0)
				goto fail;
		}
		if (!amp)
			break;
		s = amp + 1;
	}
	return 0;

fail:
	query_cleanup(q);
	return -1;
}

void query_cleanup(struct query *q)
{
	if (!q)
		return;
	free(q->buf);
	q->buf = NULL;
	q->count = 0;
}

const struct query_param *query_find(const struct query *q, const char *name,
				     size_t *count)
{
	const struct query_param *first = NULL;
	size_t n = 0;

	for (size_t i = 0; i < q->count; i++) {
		if (strcmp(q->params[i].name, name) != 0)
			continue;
		if (!first)
			first = &q->params[i];
		n++;
	}
	if (count)
		*count = n;
	return first;
}

/* The parameter when given exactly once; NULL with *st set otherwise. */
static const struct query_param *find_once(const struct query *q,
					   const char *name,
					   enum query_status *st)
{
	size_t n;
	const struct query_param *p = query_find(q, name, &n);

	if (n == 0)
		*st = QUERY_ABSENT;
	else if (n > 1)
		*st = QUERY_INVALID;
	else
		*st = QUERY_OK;
	return n == 1 ? p : NULL;
}

enum query_status query_get_int(const struct query *q, const char *name,
				int64_t min, int64_t max, int64_t def,
				int64_t *out)
{
	enum query_status st;
	const struct query_param *p = find_once(q, name, &st);
	int64_t v = 0;

	if (st == QUERY_ABSENT)
		*out = def;
	if (!p)
		return st;
	/* Ten digits at most: 9999999999 fits an int64_t with room to spare. */
	if (p->value_len < 1 || p->value_len > 10)
		return QUERY_INVALID;
	for (size_t i = 0; i < p->value_len; i++) {
		char c = p->value[i];

		if (c < '0' || c > '9')
			return QUERY_INVALID;
		v = v * 10 + (c - '0');
	}
	if (v < min || v > max)
		return QUERY_INVALID;
	*out = v;
	return QUERY_OK;
}

enum query_status query_get_bool(const struct query *q, const char *name,
				 bool def, bool *out)
{
	enum query_status st;
	const struct query_param *p = find_once(q, name, &st);

	if (st == QUERY_ABSENT)
		*out = def;
	if (!p)
		return st;
	if (p->value_len == 4 && memcmp(p->value, "true", 4) == 0) {
		*out = true;
		return QUERY_OK;
	}
	if (p->value_len == 5 && memcmp(p->value, "false", 5) == 0) {
		*out = false;
		return QUERY_OK;
	}
	return QUERY_INVALID;
}

enum query_status query_get_str(const struct query *q, const char *name,
				const char **out, size_t *out_len)
{
	enum query_status st;
	const struct query_param *p = find_once(q, name, &st);

	*out = p ? p->value : NULL;
	if (out_len)
		*out_len = p ? p->value_len : 0;
	return st;
}
