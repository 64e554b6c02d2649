/* test_timefmt.c - ISO 8601 output and PostgreSQL timestamp conversion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "timefmt.h"

/* Expected strings were computed independently (Python's datetime). */
static const struct {
	int64_t ms;
	const char *iso;
} iso_cases[] = {
	{0, "1970-01-01T00:00:00.000Z"},
	{1603378552638, "2020-10-22T14:55:52.638Z"},
	{946684800000, "2000-01-01T00:00:00.000Z"},
	{2147483648000, "2038-01-19T03:14:08.000Z"},
	/* Before 1970: floor division, not truncation. */
	{-1, "1969-12-31T23:59:59.999Z"},
	{-999, "1969-12-31T23:59:59.001Z"},
	{-1000, "1969-12-31T23:59:59.000Z"},
	{-1001, "1969-12-31T23:59:58.999Z"},
	{-86400000, "1969-12-31T00:00:00.000Z"},
	{-86400001, "1969-12-30T23:59:59.999Z"},
	{-14182940000, "1969-07-20T20:17:40.000Z"},
	{-28502722799995, "1066-10-14T09:00:00.005Z"},
	/* Leap years: 2000 and 1600 are, 1900 and 2100 are not. */
	{951825600000, "2000-02-29T12:00:00.000Z"},
	{1709251199001, "2024-02-29T23:59:59.001Z"},
	{-11670998400000, "1600-02-29T00:00:00.000Z"},
	{-2203891200001, "1900-02-28T23:59:59.999Z"},
	{-2203891200000, "1900-03-01T00:00:00.000Z"},
	{4107542400000, "2100-03-01T00:00:00.000Z"},
	/* The ends of the range. */
	{-62135596800000, "0001-01-01T00:00:00.000Z"},
	{253402300799999, "9999-12-31T23:59:59.999Z"},
};

static const int64_t out_of_range[] = {
	-62135596800001,  /* 0000-12-31T23:59:59.999 */
	253402300800000,  /* 10000-01-01 */
	INT64_MIN,
	INT64_MIN + 1,
	INT64_MAX,
	INT64_C(-9223372036854775000),
};

static void test_iso(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(iso_cases) / sizeof(iso_cases[0]); i++) {
		char out[TIMEFMT_LEN + 1];

		memset(out, 'x', sizeof(out));
		assert_int_equal(timefmt_iso_ms(iso_cases[i].ms, out), 0);
		assert_string_equal(out, iso_cases[i].iso);
		assert_int_equal(strlen(out), TIMEFMT_LEN);
	}
}

static void test_out_of_range(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(out_of_range) / sizeof(out_of_range[0]); i++) {
		char out[TIMEFMT_LEN + 1];

		assert_int_equal(timefmt_iso_ms(out_of_range[i], out), -1);
	}
}

/* Agrees with the C library over the whole range, at an odd stride so every
 * month, weekday and time of day comes up. */
static void test_against_gmtime(void **state)
{
	const int64_t lo = -62135596800000, hi = 253402300799999;
	const int64_t stride = INT64_C(86400000) * 3 + 3723457;
	size_t n = 0;

	(void)state;
	for (int64_t ms = lo; ms <= hi; ms += stride, n++) {
		char got[TIMEFMT_LEN + 1], want[64];
		time_t t = (time_t)(ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000));
		struct tm tm;

		assert_non_null(gmtime_r(&t, &tm));
		snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
			 tm.tm_min, tm.tm_sec, (int)(((ms % 1000) + 1000) % 1000));
		assert_int_equal(timefmt_iso_ms(ms, got), 0);
		if (strcmp(got, want) != 0)
			fail_msg("%lld: got %s, want %s", (long long)ms, got, want);
	}
	assert_true(n > 1000000);
}

static const struct {
	int64_t pg_usec;
	int64_t unix_ms;
} pg_cases[] = {
	{0, 946684800000},
	{1, 946684800000},
	{999, 946684800000},
	{1000, 946684800001},
	{1999, 946684800001},
	{-1, 946684799999},
	{-999, 946684799999},
	{-1000, 946684799999},
	{-1001, 946684799998},
	{656693752638000, 1603378552638},
	{656693752638999, 1603378552638},
	{-946684800000000, 0},
	{-946684800000001, -1},
	{INT64_MAX, INT64_C(9223372036854775) + 946684800000},
	{INT64_MIN, INT64_C(-9223372036854776) + 946684800000},
};

static void test_pg(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(pg_cases) / sizeof(pg_cases[0]); i++) {
		if (timefmt_pg_to_unix_ms(pg_cases[i].pg_usec) != pg_cases[i].unix_ms)
			print_error("case %zu\n", i);
		assert_int_equal(timefmt_pg_to_unix_ms(pg_cases[i].pg_usec),
				 pg_cases[i].unix_ms);
	}
}

static void test_pg_then_iso(void **state)
{
	char out[TIMEFMT_LEN + 1];

	(void)state;
	assert_int_equal(timefmt_iso_ms(timefmt_pg_to_unix_ms(656693752638123), out), 0);
	assert_string_equal(out, "2020-10-22T14:55:52.638Z");
	assert_int_equal(timefmt_iso_ms(timefmt_pg_to_unix_ms(-1), out), 0);
	assert_string_equal(out, "1999-12-31T23:59:59.999Z");
	/* PostgreSQL's 'infinity' and '-infinity' are out of range. */
	assert_int_equal(timefmt_iso_ms(timefmt_pg_to_unix_ms(INT64_MAX), out), -1);
	assert_int_equal(timefmt_iso_ms(timefmt_pg_to_unix_ms(INT64_MIN), out), -1);
}

/* What clients may give as updated_since, and its form for PostgreSQL. */
static void test_parse_iso(void **state)
{
	static const struct {
		const char *in;
		const char *out; /* NULL: refused */
	} cases[] = {
		{"2024-05-01", "2024-05-01 00:00:00.000000+00:00"},
		{"2024-05-01T12:34:56Z", "2024-05-01 12:34:56.000000+00:00"},
		{"2024-05-01T12:34:56.7Z", "2024-05-01 12:34:56.700000+00:00"},
		{"2024-05-01T12:34:56.123456789Z", "2024-05-01 12:34:56.123456+00:00"},
		{"2024-05-01T12:34:56+02:00", "2024-05-01 12:34:56.000000+02:00"},
		{"2024-05-01T12:34:56.5-11:30", "2024-05-01 12:34:56.500000-11:30"},
		{"2024-02-29", "2024-02-29 00:00:00.000000+00:00"},
		{"2023-02-29", NULL},
		{"2024-13-01", NULL},
		{"2024-00-10", NULL},
		{"0000-01-01", NULL},
		{"2024-05-01T24:00:00Z", NULL},
		{"2024-05-01T12:60:00Z", NULL},
		{"2024-05-01T12:00:60Z", NULL},
		{"2024-05-01T12:00:00", NULL},
		{"2024-05-01 12:00:00Z", NULL},
		{"2024-05-01T12:00:00.Z", NULL},
		{"2024-05-01T12:00:00.1234567890Z", NULL},
		{"2024-05-01T12:00:00+2:00", NULL},
		{"2024-05-01T12:00:00+24:00", NULL},
		{"2024-05-01T12:00:00Zjunk", NULL},
		{"2024-5-1", NULL},
		{"now", NULL},
		{"", NULL},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[TIMEFMT_PG_LEN + 1];
		int rc = timefmt_parse_iso(cases[i].in, strlen(cases[i].in), out);

		if (!cases[i].out) {
			if (rc != -1)
				fail_msg("case %zu (%s) accepted as %s", i, cases[i].in, out);
			continue;
		}
		if (rc != 0)
			fail_msg("case %zu (%s) refused", i, cases[i].in);
		assert_string_equal(out, cases[i].out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iso),
		cmocka_unit_test(test_out_of_range),
		cmocka_unit_test(test_against_gmtime),
		cmocka_unit_test(test_pg),
		cmocka_unit_test(test_pg_then_iso),
		cmocka_unit_test(test_parse_iso),
	};

	return cmocka_run_group_tests_name("timefmt", tests, NULL, NULL);
}
