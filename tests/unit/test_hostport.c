/* test_hostport.c - host:port addresses and the lists of them that the
 * settings redis and redis_sentinels take. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "hostport.h"

static int parse(const char *s, struct hostport *hp)
{
	return hostport_parse(s, strlen(s), hp);
}

static void test_parse_accepts_host_and_port(void **state)
{
	struct hostport hp;

	(void)state;
	assert_int_equal(parse("127.0.0.1:6379", &hp), 0);
	assert_string_equal(hp.host, "127.0.0.1");
	assert_int_equal(hp.port, 6379);
	assert_int_equal(parse("redis-1.example:1", &hp), 0);
	assert_string_equal(hp.host, "redis-1.example");
	assert_int_equal(hp.port, 1);
	assert_int_equal(parse("h:65535", &hp), 0);
	assert_int_equal(hp.port, 65535);
}

static void test_parse_refuses_what_is_not_host_port(void **state)
{
	static const char *const bad[] = {
		"", "6379", ":6379", "host", "host:", "host:0", "host:65536",
		"host:63a9", "host:-1", "::1:6379", "host:6379 ", "a:b:1",
	};
	struct hostport hp;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse(bad[i], &hp), -1);
}

static void test_list_takes_spaces_and_commas(void **state)
{
	struct hostport hp[HOSTPORT_LIST_MAX];

	(void)state;
	assert_int_equal(hostport_list("127.0.0.1:1 127.0.0.1:2,h:3, ,\tk:4", hp,
				       HOSTPORT_LIST_MAX),
			 4);
	assert_string_equal(hp[2].host, "h");
	assert_int_equal(hp[3].port, 4);
	assert_int_equal(hostport_list("h:1", hp, 1), 1);
}

static void test_list_refuses_empty_bad_and_too_long(void **state)
{
	struct hostport hp[2];

	(void)state;
	assert_int_equal(hostport_list("", hp, 2), -1);
	assert_int_equal(hostport_list(" , ", hp, 2), -1);
	assert_int_equal(hostport_list("h:1 nope", hp, 2), -1);
	assert_int_equal(hostport_list("h:1 h:2 h:3", hp, 2), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_accepts_host_and_port),
		cmocka_unit_test(test_parse_refuses_what_is_not_host_port),
		cmocka_unit_test(test_list_takes_spaces_and_commas),
		cmocka_unit_test(test_list_refuses_empty_bad_and_too_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
