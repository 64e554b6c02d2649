/* test_resp.c - reading Redis replies in place (resp.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "resp.h"

static enum resp_status parse(const char *s, struct resp_value *v, size_t max,
			      size_t *used)
{
	return resp_parse(s, strlen(s), v, max, used);
}

static void test_scalars(void **state)
{
	struct resp_value v[1];
	size_t used;
	const char *s;

	(void)state;
	s = "$5\r\nhello\r\n";
	assert_int_equal(parse(s, v, 1, &used), RESP_OK);
	assert_int_equal(v[0].type, RESP_BULK);
	assert_int_equal(used, strlen(s));
	assert_memory_equal(s + v[0].off, "hello", 5);
	assert_int_equal(v[0].len, 5);

	assert_int_equal(parse("$0\r\n\r\n", v, 1, &used), RESP_OK);
	assert_int_equal(v[0].type, RESP_BULK);
	assert_int_equal(v[0].len, 0);

	assert_int_equal(parse("$-1\r\n", v, 1, &used), RESP_OK);
	assert_int_equal(v[0].type, RESP_NIL);
	assert_int_equal(used, 5);

	assert_int_equal(parse(":-42\r\n", v, 1, &used), RESP_OK);
	assert_int_equal(v[0].type, RESP_INT);
	assert_int_equal(v[0].integer, -42);

	s = "+OK\r\n";
	assert_int_equal(parse(s, v, 1, &used), RESP_OK);
	assert_int_equal(v[0].type, RESP_STATUS);
	assert_memory_equal(s + v[0].off, "OK", 2);

	s = "-ERR no\r\n";
	assert_int_equal(parse(s, v, 1, &used), RESP_OK);
	assert_int_equal(v[0].type, RESP_ERROR);
	assert_int_equal(v[0].len, 6);
}

/* A bulk string may hold CR, LF and NUL: its length decides. */
static void test_binary_bulk(void **state)
{
	static const char s[] = "$4\r\n\r\n\0x\r\n";
	struct resp_value v[1];
	size_t used;

	(void)state;
	assert_int_equal(resp_parse(s, sizeof(s) - 1, v, 1, &used), RESP_OK);
	assert_int_equal(v[0].len, 4);
	assert_int_equal(used, sizeof(s) - 1);
	assert_memory_equal(s + v[0].off, "\r\n\0x", 4);
}

static void test_array(void **state)
{
	const char *s = "*3\r\n$1\r\n7\r\n$-1\r\n:5\r\n";
	struct resp_value v[4];
	size_t used;

	(void)state;
	assert_int_equal(parse(s, v, 4, &used), RESP_OK);
	assert_int_equal(used, strlen(s));
	assert_int_equal(v[0].type, RESP_ARRAY);
	assert_int_equal(v[0].len, 3);
	assert_int_equal(v[1].type, RESP_BULK);
	assert_memory_equal(s + v[1].off, "7", 1);
	assert_int_equal(v[2].type, RESP_NIL);
	assert_int_equal(v[3].type, RESP_INT);
	/* too many elements for the room given */
	assert_int_equal(parse(s, v, 3, &used), RESP_BAD);
	assert_int_equal(parse("*0\r\n", v, 1, &used), RESP_OK);
	assert_int_equal(v[0].len, 0);
	assert_int_equal(parse("*-1\r\n", v, 1, &used), RESP_OK);
	assert_int_equal(v[0].type, RESP_NIL);
}

/* Every strict prefix of a reply asks for more. */
static void test_prefixes(void **state)
{
	const char *s = "*2\r\n$11\r\nhello world\r\n$-1\r\n";
	struct resp_value v[3];
	size_t used;

	(void)state;
	for (size_t k = 0; k < strlen(s); k++)
		assert_int_equal(resp_parse(s, k, v, 3, &used), RESP_MORE);
	assert_int_equal(resp_parse(s, strlen(s), v, 3, &used), RESP_OK);
}

/* Two replies back to back: the first is read alone. */
static void test_pipelined(void **state)
{
	const char *s = ":1\r\n:2\r\n";
	struct resp_value v[1];
	size_t used;

	(void)state;
	assert_int_equal(parse(s, v, 1, &used), RESP_OK);
	assert_int_equal(used, 4);
	assert_int_equal(v[0].integer, 1);
	assert_int_equal(parse(s + used, v, 1, &used), RESP_OK);
	assert_int_equal(v[0].integer, 2);
}

static void test_refused(void **state)
{
	static const char *const bad[] = {
		"?x\r\n",           /* unknown type */
		"$5\r\nhelloXX",    /* no CRLF after the bytes */
		"$-2\r\n",          /* no such length */
		"$\r\n",            /* no digits */
		"$1x\r\n",          /* not a number */
		"$999999999999\r\n", /* over 512 MB */
		":1\rx",            /* CR without LF */
		"*1\r\n*1\r\n:1\r\n", /* nested */
		"*1x\r\n",
	};
	struct resp_value v[4];
	size_t used;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse(bad[i], v, 4, &used), RESP_BAD);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_binary_bulk),
		cmocka_unit_test(test_array),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
