/* test_policy.c - who goes on to a handler: failed authentications counted
 * per address (and the exempt ones), the key's rate and its RateLimit
 * headers, Retry-After, and 401/429/500/503 in their order.  The limits are
 * ratelimit.c's own table; auth_check, store_error and the two response
 * calls policy.c makes are replaced by the ones below (auth_check answers
 * what the test sets, and counts its calls; a header is kept as
 * "Name: value\r\n" as response.c keeps it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "policy.h"

/* --- the stand-ins --- */
static struct {
	enum auth_result result;
	int64_t rate_limit; /* the key's own: -1 for the default */
	const char *key_id;
	int calls;
} stub;

enum auth_result auth_check(struct auth *a, struct store *s,
			    const struct request *req, struct principal *out)
{
	stub.calls++;
	snprintf(out->key_id, sizeof(out->key_id), "%s", stub.key_id);
	memset(&out->key, 0, sizeof(out->key));
	out->key.rate_limit = stub.rate_limit;
	return stub.result;
}

/* Redis as the count across hosts: answers what the test sets, or fails
 * (-1) when it says so; records the last call. */
static struct {
	bool configured;
	bool fail;
	int calls;
	char name[64];
	enum cache_gcra_mode mode;
	uint64_t interval_us, tolerance_us;
	struct cache_gcra answer;
} redis;

bool cache_configured(const struct cache *c)
{
	return redis.configured;
}

int cache_gcra(struct cache *c, const char *name, size_t len, uint64_t interval_us,
	       uint64_t tolerance_us, enum cache_gcra_mode mode, struct cache_gcra *out)
{
	redis.calls++;
	snprintf(redis.name, sizeof(redis.name), "%.*s", (int)len, name);
	redis.mode = mode;
	redis.interval_us = interval_us;
	redis.tolerance_us = tolerance_us;
	if (redis.fail)
		return -1;
	*out = redis.answer;
	return 0;
}

const char *store_error(const struct store *s)
{
	return "stand-in";
}

void response_header(struct response *r, const char *name, const char *fmt, ...)
{
	va_list ap;

	buf_printf(&r->headers, "%s: ", name);
	va_start(ap, fmt);
	buf_vprintf(&r->headers, fmt, ap);
	va_end(ap);
	buf_puts(&r->headers, "\r\n");
}

void response_fail(struct response *r, enum api_error kind, const char *field,
		   const char *fmt, ...)
{
	va_list ap;

	r->status = api_error_status(kind);
	r->error_code = api_error_code(kind);
	buf_reset(&r->body);
	va_start(ap, fmt);
	buf_vprintf(&r->body, fmt, ap);
	va_end(ap);
}

/* --- the fixture: a pool's table, the settings, one answer --- */
struct fixture {
	struct config cfg;
	struct app app;
	struct response res;
	struct principal who;
};

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	f.cfg.key_rate_limit = 0;
	f.cfg.auth_fail_limit = 0;
	f.cfg.auth_fail_exempt = "";
	f.app.cfg = &f.cfg;
	f.app.limits = ratelimit_new();
	buf_init(&f.res.headers);
	buf_init(&f.res.body);
	stub.result = AUTH_OK;
	stub.rate_limit = -1;
	stub.key_id = "AAAAAAAAA";
	stub.calls = 0;
	memset(&redis, 0, sizeof(redis));
	*state = &f;
	return f.app.limits ? 0 : -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ratelimit_free(f->app.limits);
	buf_cleanup(&f->res.headers);
	buf_cleanup(&f->res.body);
	return 0;
}

/* One request from addr: its verdict, with res holding the answer. */
static enum policy_result admit(struct fixture *f, const char *addr)
{
	struct request req;

	memset(&req, 0, sizeof(req));
	req.remote_addr = addr;
	req.request_id = "test";
	f->res.status = 0;
	f->res.error_code = NULL;
	buf_reset(&f->res.headers);
	buf_reset(&f->res.body);
	f->who.key_id[0] = '\0';
	return policy_admit(&f->app, &req, &f->res, &f->who);
}

/* n requests from addr, each refused with status, naming no key. */
static void refused(struct fixture *f, const char *addr, int n, int status)
{
	for (int i = 0; i < n; i++) {
		assert_int_equal(admit(f, addr), POLICY_ANSWERED);
		assert_int_equal(f->res.status, status);
		assert_string_equal(f->who.key_id, "");
	}
}

/* The value of header name in the answer ("" when it has none). */
static const char *header(const struct fixture *f, const char *name)
{
	static char value[128];
	const char *p = f->res.headers.data, *end;
	size_t n = strlen(name);

	value[0] = '\0';
	for (; p && *p; p = end + 2) {
		end = strstr(p, "\r\n");
		if (!end)
			break;
		if (strncmp(p, name, n) == 0 && p[n] == ':') {
			snprintf(value, sizeof(value), "%.*s", (int)(end - p - n - 2),
				 p + n + 2);
			break;
		}
	}
	return value;
}

/* --- the pure parts --- */

static void test_address_counted(void **state)
{
	static const struct {
		int limit;
		const char *exempt, *addr;
		bool counted;
	} cases[] = {
		{10, "", "192.0.2.1", true},
		{0, "", "192.0.2.1", false},    /* no limit */
		{10, "", "", false},            /* no address */
		{10, "192.0.2.1", "192.0.2.1", false},
		{10, "127.0.0.1, 192.0.2.1\t::1", "192.0.2.1", false},
		{10, "127.0.0.1,192.0.2.1", "::1", true},
		{10, " ::1 ", "::1", false},
		{10, "192.0.2.10", "192.0.2.1", true}, /* whole addresses only */
		{10, "192.0.2.1", "192.0.2.10", true},
	};
	struct config cfg;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rate r = {99, 99};

		memset(&cfg, 0, sizeof(cfg));
		cfg.auth_fail_limit = cases[i].limit;
		cfg.auth_fail_exempt = (char *)cases[i].exempt;
		assert_int_equal(policy_address_counted(&cfg, cases[i].addr, &r),
				 cases[i].counted);
		assert_int_equal(r.count, (uint32_t)cases[i].limit);
		assert_int_equal(r.period_s, 60);
	}
}

static void test_key_rate(void **state)
{
	static const struct {
		int fallback;
		int64_t own;
		uint32_t count;
	} cases[] = {
		{1000, -1, 1000}, /* the default */
		{1000, 5, 5},     /* the key's own */
		{1000, 0, 0},     /* the key's own: none */
		{0, -1, 0},       /* no default */
		{0, 7, 7},
		{1000, (int64_t)UINT32_MAX + 10, UINT32_MAX},
	};
	struct config cfg;
	struct key_record key;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rate r;

		memset(&cfg, 0, sizeof(cfg));
		memset(&key, 0, sizeof(key));
		cfg.key_rate_limit = cases[i].fallback;
		key.rate_limit = cases[i].own;
		r = policy_key_rate(&cfg, &key);
		assert_int_equal(r.count, cases[i].count);
		assert_int_equal(r.period_s, 1);
	}
}

/* --- the whole admission --- */

static void test_admitted(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(admit(f, "192.0.2.1"), POLICY_ADMIT);
	assert_string_equal(f->who.key_id, "AAAAAAAAA");
	assert_int_equal(f->res.status, 0);
	/* no rate: nothing to count down, no RateLimit headers */
	assert_int_equal(f->res.headers.len, 0);
}

static void test_denied_then_address_refused(void **state)
{
	struct fixture *f = *state;

	f->cfg.auth_fail_limit = 2;
	stub.result = AUTH_DENIED;
	refused(f, "192.0.2.1", 2, 401);
	assert_string_equal(f->res.error_code, "unauthorized");
	assert_string_equal(header(f, "Retry-After"), "");
	assert_int_equal(stub.calls, 2);
	/* refused before its key is looked at, even a good one */
	stub.result = AUTH_OK;
	assert_int_equal(admit(f, "192.0.2.1"), POLICY_ANSWERED);
	assert_int_equal(f->res.status, 429);
	assert_string_equal(f->res.error_code, "rate_limited");
	assert_non_null(strstr(f->res.body.data, "failed authentications"));
	/* 2 a minute: the next one conforms 30 s after the last */
	assert_string_equal(header(f, "Retry-After"), "30");
	assert_string_equal(f->who.key_id, "");
	assert_int_equal(stub.calls, 2);
	/* another address is counted apart */
	assert_int_equal(admit(f, "192.0.2.2"), POLICY_ADMIT);
}

static void test_exempt_address_never_refused(void **state)
{
	struct fixture *f = *state;

	f->cfg.auth_fail_limit = 1;
	f->cfg.auth_fail_exempt = "127.0.0.1 192.0.2.1";
	stub.result = AUTH_DENIED;
	refused(f, "192.0.2.1", 5, 401);
	/* nor a request without an address */
	refused(f, NULL, 3, 401);
	assert_int_equal(stub.calls, 8);
}

/* Only a refused key counts against its address. */
static void test_store_failures_not_counted(void **state)
{
	struct fixture *f = *state;

	f->cfg.auth_fail_limit = 1;
	stub.result = AUTH_UNAVAILABLE;
	refused(f, "192.0.2.1", 3, 503);
	stub.result = AUTH_ERROR;
	refused(f, "192.0.2.1", 3, 500);
	stub.result = AUTH_OK;
	assert_int_equal(admit(f, "192.0.2.1"), POLICY_ADMIT);
	/* nor does a key accepted */
	assert_int_equal(admit(f, "192.0.2.1"), POLICY_ADMIT);
}

static void test_key_rate_and_headers(void **state)
{
	struct fixture *f = *state;

	f->cfg.key_rate_limit = 1000;
	stub.rate_limit = 2; /* its own, over the default */
	assert_int_equal(admit(f, "192.0.2.1"), POLICY_ADMIT);
	assert_string_equal(header(f, "RateLimit-Limit"), "2");
	assert_string_equal(header(f, "RateLimit-Remaining"), "1");
	assert_string_equal(header(f, "RateLimit-Reset"), "1");
	assert_int_equal(admit(f, "192.0.2.1"), POLICY_ADMIT);
	assert_string_equal(header(f, "RateLimit-Remaining"), "0");
	assert_string_equal(header(f, "RateLimit-Reset"), "1");
	/* over: 429 with the headers too, and the key still named */
	assert_int_equal(admit(f, "192.0.2.1"), POLICY_ANSWERED);
	assert_int_equal(f->res.status, 429);
	assert_non_null(strstr(f->res.body.data, "API key"));
	assert_string_equal(header(f, "RateLimit-Limit"), "2");
	assert_string_equal(header(f, "RateLimit-Remaining"), "0");
	assert_string_equal(header(f, "Retry-After"), "1");
	assert_string_equal(f->who.key_id, "AAAAAAAAA");
	/* another key has its own burst */
	stub.key_id = "BBBBBBBBB";
	assert_int_equal(admit(f, "192.0.2.1"), POLICY_ADMIT);
	assert_string_equal(header(f, "RateLimit-Remaining"), "1");
}

static void test_key_without_rate(void **state)
{
	struct fixture *f = *state;

	f->cfg.key_rate_limit = 1;
	stub.rate_limit = 0; /* none, whatever the default */
	for (int i = 0; i < 5; i++) {
		assert_int_equal(admit(f, "192.0.2.1"), POLICY_ADMIT);
		assert_int_equal(f->res.headers.len, 0);
	}
	/* the default */
	stub.rate_limit = -1;
	assert_int_equal(admit(f, "192.0.2.1"), POLICY_ADMIT);
	assert_string_equal(header(f, "RateLimit-Limit"), "1");
	assert_int_equal(admit(f, "192.0.2.1"), POLICY_ANSWERED);
	assert_int_equal(f->res.status, 429);
}

/* A host counting alone allows its share, rounded up. */
static void test_host_share(void **state)
{
	struct rate r = {.count = 10, .period_s = 1};

	(void)state;
	assert_int_equal(policy_host_share(r, 1).count, 10);
	assert_int_equal(policy_host_share(r, 2).count, 5);
	assert_int_equal(policy_host_share(r, 3).count, 4);
	assert_int_equal(policy_host_share(r, 64).count, 1);
	assert_int_equal(policy_host_share(r, 3).period_s, 1);
	assert_int_equal(policy_host_share((struct rate){.count = 0, .period_s = 1}, 3).count, 0);
}

/* pool_hosts > 1: the key's requests are counted in Redis, with the
 * key's whole rate; while Redis fails, here, with this host's share. */
static void test_key_rate_across_hosts(void **state)
{
	struct fixture *f = *state;

	f->cfg.pool_hosts = 2;
	redis.configured = true;
	stub.rate_limit = 10;
	redis.answer = (struct cache_gcra){.conforms = true, .ahead_us = 300000};
	assert_int_equal(admit(f, "192.0.2.1"), POLICY_ADMIT);
	assert_int_equal(redis.calls, 1);
	assert_string_equal(redis.name, "k:AAAAAAAAA");
	assert_int_equal(redis.mode, CACHE_GCRA_TAKE);
	assert_int_equal(redis.interval_us, 100000);
	assert_int_equal(redis.tolerance_us, 900000);
	assert_string_equal(header(f, "RateLimit-Limit"), "10");
	assert_string_equal(header(f, "RateLimit-Remaining"), "7"); /* 3 used */
	/* refused across hosts: 429 with the wait Redis said */
	redis.answer = (struct cache_gcra){.conforms = false, .retry_us = 2500000,
					   .ahead_us = 3400000};
	assert_int_equal(admit(f, "192.0.2.1"), POLICY_ANSWERED);
	assert_int_equal(f->res.status, 429);
	assert_string_equal(header(f, "Retry-After"), "3");
	assert_string_equal(header(f, "RateLimit-Remaining"), "0");
	/* Redis down: this host's table, half the rate */
	redis.fail = true;
	for (int i = 0; i < 5; i++) {
		assert_int_equal(admit(f, "192.0.2.1"), POLICY_ADMIT);
		assert_string_equal(header(f, "RateLimit-Limit"), "5");
	}
	assert_int_equal(admit(f, "192.0.2.1"), POLICY_ANSWERED);
	assert_int_equal(f->res.status, 429);
	/* one host: never Redis */
	f->cfg.pool_hosts = 1;
	redis.fail = false;
	redis.calls = 0;
	stub.key_id = "CCCCCCCCC";
	assert_int_equal(admit(f, "192.0.2.1"), POLICY_ADMIT);
	assert_int_equal(redis.calls, 0);
	assert_string_equal(header(f, "RateLimit-Limit"), "10");
}

/* pool_hosts > 1: a failure is charged in Redis and what Redis counted
 * is copied here, so that this host refuses the address without asking
 * Redis on its next request. */
static void test_failures_across_hosts(void **state)
{
	struct fixture *f = *state;

	f->cfg.pool_hosts = 2;
	f->cfg.auth_fail_limit = 4; /* a minute: 15 s apart, 45 s tolerance */
	redis.configured = true;
	stub.result = AUTH_DENIED;
	/* other hosts have seen three: Redis is 60 s ahead after this one */
	redis.answer = (struct cache_gcra){.conforms = false, .ahead_us = 60000000};
	refused(f, "192.0.2.7", 1, 401);
	assert_int_equal(redis.calls, 1);
	assert_string_equal(redis.name, "a:192.0.2.7");
	assert_int_equal(redis.mode, CACHE_GCRA_CHARGE);
	assert_int_equal(redis.interval_us, 15000000);
	assert_int_equal(redis.tolerance_us, 45000000);
	/* the next request is refused here, its key not looked at */
	stub.calls = 0;
	refused(f, "192.0.2.7", 1, 429);
	assert_int_equal(stub.calls, 0);
	assert_int_equal(redis.calls, 1);
	assert_string_equal(header(f, "Retry-After"), "15");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_address_counted),
		cmocka_unit_test(test_key_rate),
		cmocka_unit_test(test_host_share),
		cmocka_unit_test_setup_teardown(test_admitted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_denied_then_address_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exempt_address_never_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_failures_not_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_rate_and_headers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_without_rate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_rate_across_hosts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failures_across_hosts, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
