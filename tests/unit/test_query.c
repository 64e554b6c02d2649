/* test_query.c - the query-string parser and the typed readers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "query.h"

static void parse_ok(struct query *q, const char *qs)
{
	memset(q, 0xa5, sizeof(*q)); /* query_parse must not rely on zeroing */
	if (query_parse(q, qs) != 0)
		fail_msg("query_parse(\"%s\") failed", qs ? qs : "(null)");
}

static void test_empty(void **state)
{
	struct query q;

	(void)state;
	parse_ok(&q, NULL);
	assert_int_equal(q.count, 0);
	assert_null(query_find(&q, "offset", NULL));
	query_cleanup(&q);

	parse_ok(&q, "");
	assert_int_equal(q.count, 0);
	query_cleanup(&q);

	parse_ok(&q, "&&&");
	assert_int_equal(q.count, 0);
	query_cleanup(&q);
	query_cleanup(&q); /* twice is harmless */
	query_cleanup(NULL);
}

static void test_pairs(void **state)
{
	struct query q;

	(void)state;
	parse_ok(&q, "a=1&&b=&c&=x&d=e=f&");
	assert_int_equal(q.count, 5);
	assert_string_equal(q.params[0].name, "a");
	assert_string_equal(q.params[0].value, "1");
	assert_int_equal(q.params[0].value_len, 1);
	assert_string_equal(q.params[1].name, "b");
	assert_string_equal(q.params[1].value, "");
	assert_int_equal(q.params[1].value_len, 0);
	assert_string_equal(q.params[2].name, "c"); /* no '=': value "" */
	assert_string_equal(q.params[2].value, "");
	assert_int_equal(q.params[2].value_len, 0);
	assert_string_equal(q.params[3].name, "");
	assert_string_equal(q.params[3].value, "x");
	assert_string_equal(q.params[4].name, "d"); /* split at the first '=' */
	assert_string_equal(q.params[4].value, "e=f");
	query_cleanup(&q);

	/* ';' is not a separator. */
	parse_ok(&q, "limit=5;offset=2");
	assert_int_equal(q.count, 1);
	assert_string_equal(q.params[0].value, "5;offset=2");
	query_cleanup(&q);
}

static const struct {
	const char *qs;
	const char *name;  /* of the only pair */
	const char *value;
	size_t value_len;
} decode_cases[] = {
	{"email=ann+lee%2Btag%40Example.COM", "email", "ann lee+tag@Example.COM", 23},
	{"%6Cimit=5", "limit", "5", 1},
	{"of%66set=2", "offset", "2", 1},
	{"a+b=c+d", "a b", "c d", 3},
	{"x=%2b%2B%2f%2F", "x", "++//", 4},
	{"x=%41%61%7e%7E", "x", "Aa~~", 4},
	{"x=%25", "x", "%", 1},
	{"x=%26y%3D", "x", "&y=", 3},
	{"x=jos%C3%A9", "x", "jos\xc3\xa9", 5},
	{"x=caf\xc3\xa9", "x", "caf\xc3\xa9", 5}, /* raw bytes pass through */
};

static void test_decode(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(decode_cases) / sizeof(decode_cases[0]); i++) {
		struct query q;

		parse_ok(&q, decode_cases[i].qs);
		assert_int_equal(q.count, 1);
		assert_string_equal(q.params[0].name, decode_cases[i].name);
		assert_int_equal(q.params[0].value_len, decode_cases[i].value_len);
		assert_memory_equal(q.params[0].value, decode_cases[i].value,
				    decode_cases[i].value_len);
		assert_int_equal(q.params[0].value[q.params[0].value_len], '\0');
		query_cleanup(&q);
	}
}

static const char *const malformed[] = {
	"email=%zz",
	"email=%4",
	"email=%",
	"email=abc%",
	"email=%g0",
	"email=%0g",
	"email=% 1",
	"e%=x",
	"%=x",
	"a=1&b=%x1&c=3",
	"ok=1&bad=%",
	"a%00b=1",   /* a NUL in a name */
	"%00=1",
	"x=%%41",
	"email=a%00b@example.com", /* a NUL in a value */
	"x=%FF",                   /* not UTF-8 */
	"%C0%AE=1",                /* an overlong encoding, in a name */
	"x=%ED%A0%80",             /* a UTF-16 surrogate */
	"x=\xff",                  /* raw, not encoded */
	"x=%ff%00",
	"x=a%00b",
	"x=%00",
	"offset=1%00",
	"includeAll=true%00",
};

static void test_malformed(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		struct query q;

		memset(&q, 0xa5, sizeof(q));
		if (query_parse(&q, malformed[i]) != -1)
			fail_msg("\"%s\" was accepted", malformed[i]);
		assert_int_equal(q.count, 0);
		assert_null(q.buf);
		query_cleanup(&q); /* safe after a failure */
	}
}

/* A failed parse names the parameter whose value is at fault, so that the
 * 400 can say which (GET /contacts?email=%00%40example.com: "email"). */
static void test_bad_name(void **state)
{
	static const struct {
		const char *qs, *name;
	} cases[] = {
		{"email=%00%40example.com", "email"},
		{"limit=10&email=a%00b", "email"},
		{"offset=1%00&limit=5", "offset"},
		{"x=%FF", "x"},
		{"x=%zz", "x"},
		{"Zo%C3%AB=%00", "Zo\xc3\xab"},
		{"a%00b=1", ""},  /* the name itself is bad: no name to give */
		{"%C0%AE=1", ""},
		{"e%=x", ""},
	};
	char qs[200], longname[QUERY_NAME_MAX + 1];
	struct query q;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&q, 0xa5, sizeof(q));
		assert_int_equal(query_parse(&q, cases[i].qs), -1);
		assert_string_equal(q.bad_name, cases[i].name);
	}
	/* a name too long to give is not given */
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	snprintf(qs, sizeof(qs), "%s=%%00", longname);
	assert_int_equal(query_parse(&q, qs), -1);
	assert_string_equal(q.bad_name, "");
	longname[sizeof(longname) - 2] = '\0';
	snprintf(qs, sizeof(qs), "%s=%%00", longname);
	assert_int_equal(query_parse(&q, qs), -1);
	assert_string_equal(q.bad_name, longname);
	/* a good parse leaves it empty */
	assert_int_equal(query_parse(&q, "email=a%40b.co"), 0);
	assert_string_equal(q.bad_name, "");
	query_cleanup(&q);
}

static void test_max_params(void **state)
{
	char qs[1024];
	size_t n = 0;
	struct query q;

	(void)state;
	for (int i = 0; i < QUERY_MAX_PARAMS; i++)
		n += (size_t)snprintf(qs + n, sizeof(qs) - n, "%sp%d=%d",
				      i ? "&" : "", i, i);
	parse_ok(&q, qs);
	assert_int_equal(q.count, QUERY_MAX_PARAMS);
	assert_string_equal(q.params[31].name, "p31");
	assert_string_equal(q.params[31].value, "31");
	query_cleanup(&q);

	/* Empty pairs do not count. */
	memmove(qs + 3, qs, n + 1);
	memcpy(qs, "&&&", 3);
	parse_ok(&q, qs);
	assert_int_equal(q.count, QUERY_MAX_PARAMS);
	query_cleanup(&q);

	/* One more is malformed. */
	strcat(qs, "&p32=32");
	memset(&q, 0xa5, sizeof(q));
	assert_int_equal(query_parse(&q, qs), -1);
	query_cleanup(&q);
}

static void test_find(void **state)
{
	struct query q;
	size_t n = 99;
	const struct query_param *p;

	(void)state;
	parse_ok(&q, "limit=10&offset=3&limit=20&Limit=1");
	p = query_find(&q, "limit", &n);
	assert_non_null(p);
	assert_int_equal(n, 2);
	assert_string_equal(p->value, "10");
	p = query_find(&q, "offset", &n);
	assert_int_equal(n, 1);
	assert_string_equal(p->value, "3");
	p = query_find(&q, "LIMIT", &n); /* names are case-sensitive */
	assert_null(p);
	assert_int_equal(n, 0);
	assert_non_null(query_find(&q, "Limit", NULL));
	query_cleanup(&q);
}

#define MAX31 INT64_C(2147483647)

static const struct {
	const char *qs;
	int64_t min, max, def;
	enum query_status st;
	int64_t value; /* on OK or ABSENT */
} int_cases[] = {
	{"offset=0", 0, MAX31, 0, QUERY_OK, 0},
	{"offset=42", 0, MAX31, 0, QUERY_OK, 42},
	{"offset=0000000007", 0, MAX31, 0, QUERY_OK, 7},
	{"offset=2147483647", 0, MAX31, 0, QUERY_OK, MAX31},
	{"offset=2147483648", 0, MAX31, 0, QUERY_INVALID, 0},
	{"offset=4294967296", 0, MAX31, 0, QUERY_INVALID, 0},
	{"offset=9999999999", 0, MAX31, 0, QUERY_INVALID, 0},
	{"offset=9999999999", 0, INT64_C(9999999999), 0, QUERY_OK, INT64_C(9999999999)},
	{"offset=99999999999", 0, INT64_MAX, 0, QUERY_INVALID, 0}, /* 11 digits */
	{"offset=00000000001", 0, MAX31, 0, QUERY_INVALID, 0},     /* 11 digits */
	{"offset=abc", 0, MAX31, 0, QUERY_INVALID, 0},
	{"offset=-1", 0, MAX31, 0, QUERY_INVALID, 0},
	{"offset=-0", 0, MAX31, 0, QUERY_INVALID, 0},
	{"offset=1.5", 0, MAX31, 0, QUERY_INVALID, 0},
	{"offset=1e3", 0, MAX31, 0, QUERY_INVALID, 0},
	{"offset=0x10", 0, MAX31, 0, QUERY_INVALID, 0},
	{"offset=", 0, MAX31, 0, QUERY_INVALID, 0},
	{"offset", 0, MAX31, 0, QUERY_INVALID, 0},
	{"offset=%2B1", 0, MAX31, 0, QUERY_INVALID, 0},
	{"offset=+1", 0, MAX31, 0, QUERY_INVALID, 0}, /* '+' decodes to ' ' */
	{"offset=%201", 0, MAX31, 0, QUERY_INVALID, 0},
	{"offset=1%20", 0, MAX31, 0, QUERY_INVALID, 0},
	{"offset=1%20", 0, MAX31, 0, QUERY_INVALID, 0},
	{"offset=%31%32", 0, MAX31, 0, QUERY_OK, 12},
	{"offset=1&offset=1", 0, MAX31, 0, QUERY_INVALID, 0},
	{"offset=1&offset=x", 0, MAX31, 0, QUERY_INVALID, 0},
	{"", 0, MAX31, 0, QUERY_ABSENT, 0},
	{"limit=5", 0, MAX31, 17, QUERY_ABSENT, 17},
	{"Offset=5", 0, MAX31, 17, QUERY_ABSENT, 17},
	{"offset=7&other=1&other=2", 0, MAX31, 0, QUERY_OK, 7},
};

static const struct {
	const char *qs;
	enum query_status st;
	int64_t value;
} limit_cases[] = {
	{"limit=1", QUERY_OK, 1},
	{"limit=1000", QUERY_OK, 1000},
	{"limit=0", QUERY_INVALID, 0},
	{"limit=1001", QUERY_INVALID, 0},
	{"limit=99999999999", QUERY_INVALID, 0},
	{"x=1", QUERY_ABSENT, 1000},
};

static void test_int(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(int_cases) / sizeof(int_cases[0]); i++) {
		struct query q;
		int64_t v = -12345;
		enum query_status st;

		parse_ok(&q, int_cases[i].qs);
		st = query_get_int(&q, "offset", int_cases[i].min, int_cases[i].max,
				   int_cases[i].def, &v);
		if (st != int_cases[i].st)
			print_error("case %zu \"%s\": status %d, want %d\n", i,
				    int_cases[i].qs, st, int_cases[i].st);
		assert_int_equal(st, int_cases[i].st);
		if (st == QUERY_INVALID)
			assert_int_equal(v, -12345); /* untouched */
		else
			assert_int_equal(v, int_cases[i].value);
		query_cleanup(&q);
	}
	for (size_t i = 0; i < sizeof(limit_cases) / sizeof(limit_cases[0]); i++) {
		struct query q;
		int64_t v = -1;

		parse_ok(&q, limit_cases[i].qs);
		assert_int_equal(query_get_int(&q, "limit", 1, 1000, 1000, &v),
				 limit_cases[i].st);
		if (limit_cases[i].st != QUERY_INVALID)
			assert_int_equal(v, limit_cases[i].value);
		query_cleanup(&q);
	}
}

static const struct {
	const char *qs;
	bool def;
	enum query_status st;
	bool value;
} bool_cases[] = {
	{"includeAll=true", false, QUERY_OK, true},
	{"includeAll=false", true, QUERY_OK, false},
	{"", false, QUERY_ABSENT, false},
	{"", true, QUERY_ABSENT, true},
	{"includeAll=TRUE", false, QUERY_INVALID, false},
	{"includeAll=True", false, QUERY_INVALID, false},
	{"includeAll=1", false, QUERY_INVALID, false},
	{"includeAll=0", false, QUERY_INVALID, false},
	{"includeAll=yes", false, QUERY_INVALID, false},
	{"includeAll=maybe", false, QUERY_INVALID, false},
	{"includeAll=", false, QUERY_INVALID, false},
	{"includeAll", false, QUERY_INVALID, false},
	{"includeAll=true+", false, QUERY_INVALID, false},
	{"includeAll=true%20", false, QUERY_INVALID, false},
	{"includeAll=tru", false, QUERY_INVALID, false},
	{"includeAll=%74rue", false, QUERY_OK, true},
	{"includeAll=true&includeAll=true", false, QUERY_INVALID, false},
	{"includeall=true", false, QUERY_ABSENT, false},
};

static void test_bool(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bool_cases) / sizeof(bool_cases[0]); i++) {
		struct query q;
		bool v = !bool_cases[i].value;
		enum query_status st;

		parse_ok(&q, bool_cases[i].qs);
		if (bool_cases[i].st == QUERY_INVALID)
			v = true;
		st = query_get_bool(&q, "includeAll", bool_cases[i].def, &v);
		if (st != bool_cases[i].st)
			print_error("case %zu \"%s\"\n", i, bool_cases[i].qs);
		assert_int_equal(st, bool_cases[i].st);
		if (st == QUERY_INVALID)
			assert_true(v); /* untouched */
		else
			assert_int_equal(v, bool_cases[i].value);
		query_cleanup(&q);
	}
}

static void test_str(void **state)
{
	struct query q;
	const char *s = "unset";
	size_t n = 99;

	(void)state;
	parse_ok(&q, "email=ann%40example.com&type=&x=a%2Bb&x2=1&x2=2");
	assert_int_equal(query_get_str(&q, "email", &s, &n), QUERY_OK);
	assert_string_equal(s, "ann@example.com");
	assert_int_equal(n, 15);
	assert_int_equal(query_get_str(&q, "type", &s, &n), QUERY_OK);
	assert_string_equal(s, "");
	assert_int_equal(n, 0);
	assert_int_equal(query_get_str(&q, "x", &s, &n), QUERY_OK);
	assert_int_equal(n, 3);
	assert_memory_equal(s, "a+b", 4);
	assert_int_equal(query_get_str(&q, "nope", &s, &n), QUERY_ABSENT);
	assert_null(s);
	assert_int_equal(n, 0);
	s = "unset";
	assert_int_equal(query_get_str(&q, "x2", &s, &n), QUERY_INVALID);
	assert_null(s);
	assert_int_equal(query_get_str(&q, "email", &s, NULL), QUERY_OK);
	assert_string_equal(s, "ann@example.com");
	query_cleanup(&q);
}

/* The strings the handlers get, end to end. */
static void test_handler_shapes(void **state)
{
	struct query q;
	int64_t off = -1, lim = -1;
	bool all = false;
	const char *type = NULL, *email = NULL;
	size_t tlen, elen;

	(void)state;
	parse_ok(&q, "offset=20&limit=10&includeAll=true&email=ann%40example.com&type=customer&unknown=x");
	assert_int_equal(query_get_int(&q, "offset", 0, MAX31, 0, &off), QUERY_OK);
	assert_int_equal(query_get_int(&q, "limit", 1, 1000, 1000, &lim), QUERY_OK);
	assert_int_equal(query_get_bool(&q, "includeAll", false, &all), QUERY_OK);
	assert_int_equal(query_get_str(&q, "type", &type, &tlen), QUERY_OK);
	assert_int_equal(query_get_str(&q, "email", &email, &elen), QUERY_OK);
	assert_int_equal(off, 20);
	assert_int_equal(lim, 10);
	assert_true(all);
	assert_string_equal(type, "customer");
	assert_string_equal(email, "ann@example.com");
	query_cleanup(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_pairs),
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_bad_name),
		cmocka_unit_test(test_max_params),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_int),
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_str),
		cmocka_unit_test(test_handler_shapes),
	};

	return cmocka_run_group_tests_name("query", tests, NULL, NULL);
}
