/* resp.c - one RESP2 reply, located in place (resp.h). */
#include "resp.h"

#include <stdbool.h>
#include <string.h>

#define BULK_MAX (512LL * 1024 * 1024) /* Redis's own limit on a string */

/* The line at p[*i..n) up to CRLF: its end (the CR) in *end. */
static enum resp_status line(const char *p, size_t n, size_t i, size_t *end)
{
	const char *cr = i < n ? memchr(p + i, '\r', n - i) : NULL;

	if (!cr)
		return n - i > 64 * 1024 ? RESP_BAD : RESP_MORE;
	if ((size_t)(cr - p) + 1 >= n)
		return RESP_MORE;
	if (cr[1] != '\n')
		return RESP_BAD;
	*end = (size_t)(cr - p);
	return RESP_OK;
}

/* A decimal integer filling p[i..end): optional '-', 1 to 18 digits. */
static bool number(const char *p, size_t i, size_t end, long long *out)
{
	bool neg = false;
	long long v = 0;

	if (i < end && p[i] == '-') {
		neg = true;
		i++;
	}
	if (i == end || end - i > 18)
		return false;
	for (; i < end; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (p[i] - '0');
	}
	*out = neg ? -v : v;
	return true;
}

/* One value that is not an array, at p[i..n). */
static enum resp_status scalar(const char *p, size_t n, size_t i,
			       struct resp_value *v, size_t *next)
{
	size_t end;
	long long len;
	enum resp_status st;

	if (i >= n)
		return RESP_MORE;
	st = line(p, n, i + 1, &end);
	if (st != RESP_OK)
		return st;
	switch (p[i]) {
	case '+':
	case '-':
		v->type = p[i] == '+' ? RESP_STATUS : RESP_ERROR;
		v->off = i + 1;
		v->len = end - i - 1;
		*next = end + 2;
		return RESP_OK;
	case ':':
		if (!number(p, i + 1, end, &v->integer))
			return RESP_BAD;
		v->type = RESP_INT;
		*next = end + 2;
		return RESP_OK;
	case '$':
		if (!number(p, i + 1, end, &len) || len < -1 || len > BULK_MAX)
			return RESP_BAD;
		if (len == -1) {
			v->type = RESP_NIL;
			*next = end + 2;
			return RESP_OK;
		}
		if (n - (end + 2) < (size_t)len + 2)
			return RESP_MORE;
		if (p[end + 2 + len] != '\r' || p[end + 3 + len] != '\n')
			return RESP_BAD;
		v->type = RESP_BULK;
		v->off = end + 2;
		v->len = (size_t)len;
		*next = end + 4 + (size_t)len;
		return RESP_OK;
	default:
		return RESP_BAD;
	}
}

enum resp_status resp_parse(const char *p, size_t n, struct resp_value *v,
			    size_t max, size_t *used)
{
	size_t end, i;
	long long count;
	enum resp_status st;

	if (max < 1)
		return RESP_BAD;
	if (n == 0)
		return RESP_MORE;
	if (p[0] != '*')
		return scalar(p, n, 0, &v[0], used);
	st = line(p, n, 1, &end);
	if (st != RESP_OK)
		return st;
	if (!number(p, 1, end, &count) || count < -1 || count > (long long)max - 1)
		return RESP_BAD;
	if (count == -1) {
		v[0].type = RESP_NIL;
		*used = end + 2;
		return RESP_OK;
	}
	v[0].type = RESP_ARRAY;
	v[0].len = (size_t)count;
	i = end + 2;
	for (long long k = 1; k <= count; k++) {
		if (i < n && p[i] == '*')
			return RESP_BAD; /* nested: not a reply the cache asks for */
		st = scalar(p, n, i, &v[k], &i);
		if (st != RESP_OK)
			return st;
	}
	*used = i;
	return RESP_OK;
}
