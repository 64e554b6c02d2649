/* test_config.c - the settings loader: defaults, file, environment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static char path[64];

static void write_conf(const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/test_config_XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	close(fd);
	unsetenv("CONTACTS_WORKERS");
	unsetenv("CONTACTS_CONFIG");
	unsetenv("CONTACTS_LOG_LEVEL");
	unsetenv("CONTACTS_ACCESS_LOG");
	unsetenv("CONTACTS_DATABASE");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

static void test_file_values(void **state)
{
	struct config c;
	char err[CONFIG_ERR_LEN];

	(void)state;
	write_conf("# comment\n\n database = \"host=/tmp dbname=x\"\nworkers = 3\n"
		   "listen=127.0.0.1:9000\nlisten_mode = 0666\nlog_level = debug\n"
		   "redis =\n");
	assert_int_equal(config_load(&c, path, err, sizeof(err)), 0);
	assert_string_equal(c.database, "host=/tmp dbname=x");
	assert_int_equal(c.workers, 3);
	assert_string_equal(c.listen, "127.0.0.1:9000");
	assert_int_equal(c.listen_mode, 0666);
	assert_int_equal(c.log_level, LOG_DEBUG);
	assert_string_equal(c.redis, "");
	assert_int_equal(c.cache_ttl, 300); /* default kept */
	config_cleanup(&c);
}

static void test_env_overrides_file(void **state)
{
	struct config c;
	char err[CONFIG_ERR_LEN];

	(void)state;
	write_conf("workers = 3\n");
	setenv("CONTACTS_WORKERS", "7", 1);
	assert_int_equal(config_load(&c, path, err, sizeof(err)), 0);
	assert_int_equal(c.workers, 7);
	config_cleanup(&c);
	unsetenv("CONTACTS_WORKERS");
}

static void test_errors(void **state)
{
	static const char *const bad[] = {
		"workers = many\n", "workers = -1\n", "nonsense = 1\n",
		"just a line\n", "log_level = loud\n", "listen_mode = 999\n",
		"database =\n", "access_log = some\n", "access_log = sample:0\n",
		"access_log = sample:\n", "access_log = sample:5x\n",
		"access_log = sample:-3\n", "access_log_slow_ms = -1\n",
	};
	struct config c;
	char err[CONFIG_ERR_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_conf(bad[i]);
		err[0] = '\0';
		assert_int_equal(config_load(&c, path, err, sizeof(err)), -1);
		assert_true(strlen(err) > 0);
	}
	setenv("CONTACTS_WORKERS", "x", 1);
	write_conf("");
	assert_int_equal(config_load(&c, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "CONTACTS_WORKERS"));
	unsetenv("CONTACTS_WORKERS");
}

static void test_access_log(void **state)
{
	static const struct {
		const char *value;
		int n;
		const char *dump;
	} cases[] = {
		{"all", 1, "access_log = all\n"},
		{"errors", 0, "access_log = errors\n"},
		{"sample:1", 1, "access_log = all\n"},
		{"sample:250", 250, "access_log = sample:250\n"},
	};
	struct config c;
	char err[CONFIG_ERR_LEN], line[64];

	(void)state;
	write_conf("");
	assert_int_equal(config_load(&c, path, err, sizeof(err)), 0);
	assert_int_equal(c.access_log, 100); /* the default: sample:100 */
	assert_int_equal(c.access_log_slow_ms, 500);
	config_cleanup(&c);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = NULL;
		size_t len = 0;
		FILE *out = open_memstream(&text, &len);

		snprintf(line, sizeof(line), "access_log = %s\n", cases[i].value);
		write_conf(line);
		assert_int_equal(config_load(&c, path, err, sizeof(err)), 0);
		assert_int_equal(c.access_log, cases[i].n);
		config_dump(&c, out);
		fclose(out);
		assert_non_null(strstr(text, cases[i].dump));
		free(text);
		config_cleanup(&c);
	}
}

/* --check-config prints the database setting with the password masked,
 * whichever form it was given in. */
/* statement_timeout: milliseconds, a little under nginx's
 * fastcgi_read_timeout (30 s) by default; 0 is none. */
static void test_statement_timeout(void **state)
{
	struct config c;
	char err[CONFIG_ERR_LEN];

	(void)state;
	write_conf("");
	assert_int_equal(config_load(&c, path, err, sizeof(err)), 0);
	assert_int_equal(c.statement_timeout, 25000);
	config_cleanup(&c);
	write_conf("statement_timeout = 0\n");
	assert_int_equal(config_load(&c, path, err, sizeof(err)), 0);
	assert_int_equal(c.statement_timeout, 0);
	config_cleanup(&c);
	write_conf("statement_timeout = -1\n");
	assert_int_equal(config_load(&c, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "statement_timeout"));
	write_conf("statement_timeout = 25s\n");
	assert_int_equal(config_load(&c, path, err, sizeof(err)), -1);
}

static void test_dump_masks_passwords(void **state)
{
	static const char *const given[] = {
		"database = host=h password=secret dbname=db\n",
		"database = \"host=h password='se cret' dbname=db\"\n",
		"database = postgresql://u:secret@h/db\n",
		"database = postgresql://h/db?password=secret\n",
		"database = password=secret'unterminated\n",
	};
	struct config c;
	char err[CONFIG_ERR_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(given) / sizeof(given[0]); i++) {
		char *text = NULL;
		size_t len = 0;
		FILE *out = open_memstream(&text, &len);

		write_conf(given[i]);
		assert_int_equal(config_load(&c, path, err, sizeof(err)), 0);
		config_dump(&c, out);
		fclose(out);
		if (strstr(text, "secret") || strstr(text, "cret"))
			fail_msg("%s printed as:\n%s", given[i], text);
		assert_non_null(strstr(text, "\ndatabase = "));
		assert_non_null(strstr(text, "********"));
		free(text);
		config_cleanup(&c);
	}
}

/* pool_hosts and host_name: the default host label is the host's name;
 * one that would not be a plain label value is refused. */
static void test_hosts(void **state)
{
	struct config c;
	char err[CONFIG_ERR_LEN], name[64] = "";

	(void)state;
	write_conf("database = x\n");
	assert_int_equal(config_load(&c, path, err, sizeof(err)), 0);
	assert_int_equal(c.pool_hosts, 1);
	assert_int_equal(gethostname(name, sizeof(name) - 1), 0);
	assert_string_equal(c.host_name, name);
	config_cleanup(&c);
	write_conf("database = x\npool_hosts = 3\nhost_name = api-2.example\n");
	assert_int_equal(config_load(&c, path, err, sizeof(err)), 0);
	assert_int_equal(c.pool_hosts, 3);
	assert_string_equal(c.host_name, "api-2.example");
	config_cleanup(&c);
	write_conf("database = x\nhost_name = a\"b\n");
	assert_int_equal(config_load(&c, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "host_name"));
	write_conf("database = x\npool_hosts = 0\n");
	assert_int_equal(config_load(&c, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "pool_hosts"));
}

/* redis, redis_sentinels and redis_master_name: an address that is not
 * host:port is refused by name, not run without a cache. */
static void test_redis_addresses(void **state)
{
	static const char *const bad[][2] = {
		{"redis = localhost\n", "redis"},
		{"redis_sentinels = 127.0.0.1:26379 nope\n", "redis_sentinels"},
		{"redis_sentinels = ,\n", "redis_sentinels"},
		{"redis_master_name = a b\n", "redis_master_name"},
		{"redis_master_name =\n", "redis_master_name"},
	};
	struct config c;
	char err[CONFIG_ERR_LEN], conf[256];

	(void)state;
	write_conf("database = x\nredis_sentinels = 127.0.0.1:1,127.0.0.1:2 h:3\n"
		   "redis_master_name = cache-1\n");
	assert_int_equal(config_load(&c, path, err, sizeof(err)), 0);
	assert_string_equal(c.redis_sentinels, "127.0.0.1:1,127.0.0.1:2 h:3");
	assert_string_equal(c.redis_master_name, "cache-1");
	config_cleanup(&c);
	write_conf("database = x\nredis =\n");
	assert_int_equal(config_load(&c, path, err, sizeof(err)), 0);
	assert_string_equal(c.redis_master_name, "contacts");
	config_cleanup(&c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(conf, sizeof(conf), "database = x\n%s", bad[i][0]);
		write_conf(conf);
		assert_int_equal(config_load(&c, path, err, sizeof(err)), -1);
		assert_non_null(strstr(err, bad[i][1]));
	}
}

static void test_missing_explicit_file(void **state)
{
	struct config c;
	char err[CONFIG_ERR_LEN];

	(void)state;
	assert_int_equal(config_load(&c, "/nonexistent/contacts.conf", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot open"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_file_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_env_overrides_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_explicit_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_access_log, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dump_masks_passwords, setup, teardown),
		cmocka_unit_test_setup_teardown(test_statement_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hosts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_redis_addresses, setup, teardown),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
