/* fuzz_query.c - libFuzzer harness for the query-string parser (query.c).
 *
 * The input, cut at its first NUL, is parsed as a QUERY_STRING and every
 * parameter GET /contacts and GET /lists read is fetched the way the
 * handlers fetch it.  Properties checked (abort() on failure):
 *  - at most QUERY_MAX_PARAMS pairs, each with a name and a value whose
 *    value[value_len] is NUL;
 *  - query_find() counts agree with a scan of the pairs; a parameter given
 *    twice is QUERY_INVALID for every typed reader;
 *  - query_get_int() agrees with the rule in query.h (1-10 digits, nothing
 *    else, in [min, max]); QUERY_ABSENT stores the default;
 *  - query_get_bool() accepts exactly "true" and "false";
 *  - query_get_str() hands back the value it found.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "fuzz_query: property failed: %s (%s:%d)\n", \
				#cond, __FILE__, __LINE__);                  \
			abort();                                             \
		}                                                            \
	} while (0)

static size_t count_named(const struct query *q, const char *name,
			  const struct query_param **first)
{
	size_t n = 0;

	*first = NULL;
	for (size_t i = 0; i < q->count; i++) {
		if (strcmp(q->params[i].name, name) == 0) {
			if (!*first)
				*first = &q->params[i];
			n++;
		}
	}
	return n;
}

/* The rule of query.h: digits only, 1-10 of them, within [min, max]. */
static enum query_status ref_int(const struct query_param *p, int64_t min,
				 int64_t max, int64_t *out)
{
	int64_t v = 0;

	if (p->value_len < 1 || p->value_len > 10)
		return QUERY_INVALID;
	for (size_t i = 0; i < p->value_len; i++) {
		if (p->value[i] < '0' || p->value[i] > '9')
			return QUERY_INVALID;
		v = v * 10 + (p->value[i] - '0');
	}
	if (v < min || v > max)
		return QUERY_INVALID;
	*out = v;
	return QUERY_OK;
}

static void check_int(const struct query *q, const char *name, int64_t min,
		      int64_t max, int64_t def)
{
	const struct query_param *p;
	size_t n = count_named(q, name, &p);
	int64_t got = -42, want = -43;
	enum query_status st = query_get_int(q, name, min, max, def, &got);

	CHECK(st == QUERY_OK || st == QUERY_ABSENT || st == QUERY_INVALID);
	if (n == 0) {
		CHECK(st == QUERY_ABSENT);
		CHECK(got == def);
	} else if (n > 1) {
		CHECK(st == QUERY_INVALID);
	} else {
		enum query_status rst = ref_int(p, min, max, &want);

		if (st != rst)
			fprintf(stderr, "fuzz_query: %s=\"%.*s\": got %d, rule says %d\n",
				name, (int)p->value_len, p->value, st, rst);
		CHECK(st == rst);
		if (st == QUERY_OK)
			CHECK(got == want && got >= min && got <= max);
	}
}

static void check_bool(const struct query *q, const char *name, bool def)
{
	const struct query_param *p;
	size_t n = count_named(q, name, &p);
	bool got = !def;
	enum query_status st = query_get_bool(q, name, def, &got);

	if (n == 0) {
		CHECK(st == QUERY_ABSENT);
		CHECK(got == def);
	} else if (n > 1) {
		CHECK(st == QUERY_INVALID);
	} else if (p->value_len == 4 && memcmp(p->value, "true", 4) == 0) {
		CHECK(st == QUERY_OK && got == true);
	} else if (p->value_len == 5 && memcmp(p->value, "false", 5) == 0) {
		CHECK(st == QUERY_OK && got == false);
	} else {
		CHECK(st == QUERY_INVALID);
	}
}

static void check_str(const struct query *q, const char *name)
{
	const struct query_param *p;
	size_t n = count_named(q, name, &p);
	const char *got = "unset";
	size_t len = 12345;
	enum query_status st = query_get_str(q, name, &got, &len);

	if (n == 0) {
		CHECK(st == QUERY_ABSENT);
		CHECK(got == NULL);
	} else if (n > 1) {
		CHECK(st == QUERY_INVALID);
	} else {
		CHECK(st == QUERY_OK);
		CHECK(got != NULL);
		CHECK(len == p->value_len);
		CHECK(memcmp(got, p->value, len) == 0);
		CHECK(got[len] == '\0');
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {"offset", "limit", "includeAll",
					    "email", "type", "", NULL};
	struct query q;
	char *qs = malloc(size + 1);

	CHECK(qs != NULL);
	memcpy(qs, data, size);
	qs[size] = '\0';

	memset(&q, 0xa5, sizeof(q)); /* query_parse must not rely on zeroing */
	if (query_parse(&q, qs) < 0) {
		query_cleanup(&q);
		free(qs);
		return 0;
	}
	CHECK(q.count <= QUERY_MAX_PARAMS);
	for (size_t i = 0; i < q.count; i++) {
		const struct query_param *p = &q.params[i];

		CHECK(p->name != NULL && p->value != NULL);
		CHECK(p->value[p->value_len] == '\0');
		CHECK(strlen(p->value) <= p->value_len);
		(void)strlen(p->name);
	}
	for (size_t i = 0; names[i]; i++) {
		const struct query_param *p, *f;
		size_t n = count_named(&q, names[i], &p), c = 999;

		f = query_find(&q, names[i], &c);
		CHECK(c == n);
		CHECK((f == NULL) == (n == 0));
		if (f)
			CHECK(strcmp(f->name, names[i]) == 0);
		CHECK((query_find(&q, names[i], NULL) == NULL) == (n == 0));
	}

	/* As the handlers read them. */
	check_int(&q, "offset", 0, INT64_C(2147483647), 0);
	check_int(&q, "limit", 1, 1000, 100);
	check_int(&q, "offset", 0, INT64_C(9999999999), 0);
	check_bool(&q, "includeAll", false);
	check_bool(&q, "includeAll", true);
	check_str(&q, "email");
	check_str(&q, "type");

	query_cleanup(&q);
	free(qs);
	return 0;
}
