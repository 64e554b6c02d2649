/* test_id.c - random identifiers: length, alphabet, uniqueness. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "id.h"

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

static void test_length_and_charset(void **state)
{
	static const size_t lens[] = {0, 1, ID_LEN, 43, 64, 100, 1000};

	(void)state;
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t n = lens[i];
		char *out = malloc(n + 2);

		assert_non_null(out);
		memset(out, '#', n + 2);
		assert_int_equal(id_random(out, n), 0);
		assert_int_equal(out[n], '\0');
		assert_int_equal(out[n + 1], '#'); /* nothing past len + 1 */
		assert_int_equal(strlen(out), n);
		assert_int_equal(strspn(out, alphabet), n);
		free(out);
	}
}

static void test_valid_accepts_random(void **state)
{
	(void)state;
	for (int i = 0; i < 1000; i++) {
		char id[ID_LEN + 1];

		assert_int_equal(id_random(id, ID_LEN), 0);
		assert_true(id_valid(id, ID_LEN));
		assert_true(id_valid(id, strlen(id)));
	}
}

static const struct {
	const char *s;
	size_t len; /* (size_t)-1: strlen */
	int valid;
} valid_cases[] = {
	{"abcDEF123", (size_t)-1, 1},
	{"AAAAAAAAA", (size_t)-1, 1},
	{"000000000", (size_t)-1, 1},
	{"zzzzzzzzz", (size_t)-1, 1},
	{"abcDEF12", (size_t)-1, 0},     /* 8 */
	{"abcDEF1234", (size_t)-1, 0},   /* 10 */
	{"", (size_t)-1, 0},
	{"abcDEF12-", (size_t)-1, 0},
	{"abcDEF12_", (size_t)-1, 0},
	{"abc DEF12", (size_t)-1, 0},
	{"abcD\xc3\xa9" "F12", (size_t)-1, 0},
	{"abcDEF12\0", 9, 0},            /* NUL inside the 9 */
	{"\0bcDEF123", 9, 0},
	{"abcDEF1234", 9, 1},            /* only len bytes are read */
	{"abcDEF123", 8, 0},
	{"abc/EF123", (size_t)-1, 0},    /* '/' is just below '0' */
	{"abc:EF123", (size_t)-1, 0},    /* ':' just above '9' */
	{"abc@EF123", (size_t)-1, 0},    /* '@' just below 'A' */
	{"abc[EF123", (size_t)-1, 0},
	{"abc`EF123", (size_t)-1, 0},
	{"abc{EF123", (size_t)-1, 0},
};

static void test_valid_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(valid_cases) / sizeof(valid_cases[0]); i++) {
		const char *s = valid_cases[i].s;
		size_t len = valid_cases[i].len == (size_t)-1 ? strlen(s) : valid_cases[i].len;

		if (!!id_valid(s, len) != valid_cases[i].valid)
			print_error("case %zu\n", i);
		assert_int_equal(!!id_valid(s, len), valid_cases[i].valid);
	}
	assert_false(id_valid(NULL, 0));
}

static int cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, ID_LEN);
}

#define N_IDS 10000

static void test_unique_and_full_alphabet(void **state)
{
	char (*ids)[ID_LEN + 1] = calloc(N_IDS, sizeof(*ids));
	size_t seen[256] = {0};

	(void)state;
	assert_non_null(ids);
	for (size_t i = 0; i < N_IDS; i++) {
		assert_int_equal(id_random(ids[i], ID_LEN), 0);
		for (size_t k = 0; k < ID_LEN; k++)
			seen[(unsigned char)ids[i][k]]++;
	}
	qsort(ids, N_IDS, sizeof(*ids), cmp_id);
	for (size_t i = 1; i < N_IDS; i++)
		if (memcmp(ids[i - 1], ids[i], ID_LEN) == 0)
			fail_msg("duplicate id %s", ids[i]);

	/* 90,000 characters, about 1452 of each: every one must appear, and
	 * none may be wildly off (a modulo bias would be 3%; this bound only
	 * catches gross mistakes such as a wrong alphabet index). */
	for (size_t c = 0; c < 62; c++) {
		size_t n = seen[(unsigned char)alphabet[c]];

		if (n == 0)
			fail_msg("'%c' never appears", alphabet[c]);
		assert_in_range(n, 1100, 1800);
	}
	free(ids);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_length_and_charset),
		cmocka_unit_test(test_valid_accepts_random),
		cmocka_unit_test(test_valid_table),
		cmocka_unit_test(test_unique_and_full_alphabet),
	};

	return cmocka_run_group_tests_name("id", tests, NULL, NULL);
}
