/* test_etag.c - entity tags and If-None-Match (etag.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "etag.h"

static void test_tag(void **state)
{
	char a[ETAG_LEN + 1], b[ETAG_LEN + 1], c[ETAG_LEN + 1];

	(void)state;
	etag_of("{\"contacts\":[]}", 15, a);
	etag_of("{\"contacts\":[]}", 15, b);
	etag_of("{\"contacts\":[ ]}", 16, c);
	assert_int_equal(strlen(a), ETAG_LEN);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	etag_of("", 0, a);
	assert_string_equal(a, "cbf29ce484222325"); /* FNV-1a offset basis */
	for (size_t i = 0; i < ETAG_LEN; i++)
		assert_true((a[i] >= '0' && a[i] <= '9') || (a[i] >= 'a' && a[i] <= 'f'));
}

static void test_matches(void **state)
{
	static const struct {
		const char *header;
		bool match;
	} cases[] = {
		{"\"0123456789abcdef\"", true},
		{"W/\"0123456789abcdef\"", true},
		{"\"x\", \"0123456789abcdef\"", true},
		{"\"x\",W/\"0123456789abcdef\"", true},
		{"*", true},
		{"\"0123456789abcde\"", false},
		{"\"0123456789abcdef0\"", false},
		{"0123456789abcdef", false},
		{"\"0123456789abcdef", false},
		{"", false},
		{"\"x\" junk \"0123456789abcdef\"", false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (etag_matches(cases[i].header, "0123456789abcdef") != cases[i].match)
			fail_msg("case %zu: %s", i, cases[i].header);
	assert_false(etag_matches(NULL, "0123456789abcdef"));
	assert_false(etag_matches("*", ""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tag),
		cmocka_unit_test(test_matches),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
