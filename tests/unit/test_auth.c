/* test_auth.c - API keys: the shape of a key, the headers it comes in, and
 * the per-worker lease (a record read from the store is trusted for
 * lease_ms, then read again; a wrong secret is refused with or without a
 * lease).  store_key_lookup is replaced by the one below, which serves one
 * table and counts the look-ups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "lease.h"
#include "sha256.h"

#define KEY_A "ck_AAAAAAAAA_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
#define KEY_A_WRONG "ck_AAAAAAAAA_0123456789abcdefghijklmnopqrstuvwxyzABCDEFH"
#define KEY_B "ck_BBBBBBBBB_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"

/* --- the stand-in store --- */
struct store {
	int lookups;
	bool down;
	bool revoked_a;
	int64_t epoch;
};

enum store_status store_key_lookup(struct store *s, const char *key_id,
				   struct key_record *out)
{
	const char *key;

	s->lookups++;
	if (s->down)
		return STORE_UNAVAILABLE;
	if (strcmp(key_id, "AAAAAAAAA") == 0 && !s->revoked_a)
		key = KEY_A;
	else if (strcmp(key_id, "BBBBBBBBB") == 0)
		key = KEY_B;
	else
		return STORE_NOT_FOUND;
	memset(out, 0, sizeof(*out));
	snprintf(out->org_id, sizeof(out->org_id), "org%c", key_id[0]);
	sha256(key, strlen(key), out->hash);
	out->cache_epoch = s->epoch;
	out->rate_limit = -1;
	return STORE_OK;
}

static struct request with_key(const char *key)
{
	struct request r;

	memset(&r, 0, sizeof(r));
	r.x_api_key = key;
	return r;
}

static enum auth_result check(struct auth *a, struct store *s, const char *key,
			      struct principal *p)
{
	struct request r = with_key(key);

	return auth_check(a, s, &r, p);
}

static void sleep_ms(int ms)
{
	struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	nanosleep(&t, NULL);
}

/* --- tests --- */

static void test_key_shape(void **state)
{
	char id[ID_LEN + 1];

	(void)state;
	assert_int_equal(auth_parse_key(KEY_A, id), 0);
	assert_string_equal(id, "AAAAAAAAA");
	assert_int_equal(auth_parse_key("ck_AAAAAAAAA_short", id), -1);
	assert_int_equal(auth_parse_key("xx_AAAAAAAAA_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG", id), -1);
	assert_int_equal(auth_parse_key("ck_AAAAAAAA-_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG", id), -1);
	assert_int_equal(auth_parse_key(KEY_A "x", id), -1);
}

static void test_key_headers(void **state)
{
	struct request r;

	(void)state;
	memset(&r, 0, sizeof(r));
	assert_null(auth_key_from_request(&r));
	r.authorization = "Bearer  " KEY_A;
	assert_string_equal(auth_key_from_request(&r), KEY_A);
	r.authorization = "bearer\t" KEY_A;
	assert_string_equal(auth_key_from_request(&r), KEY_A);
	r.authorization = "Basic " KEY_A;
	assert_null(auth_key_from_request(&r));
	r.authorization = "Bearer ";
	assert_null(auth_key_from_request(&r));
	r.x_api_key = KEY_B; /* X-API-Key wins */
	r.authorization = "Bearer " KEY_A;
	assert_string_equal(auth_key_from_request(&r), KEY_B);
}

static void test_lease_saves_lookups(void **state)
{
	struct store s = {0};
	struct auth *a = auth_new(1000);
	struct principal p;

	(void)state;
	for (int i = 0; i < 100; i++)
		assert_int_equal(check(a, &s, KEY_A, &p), AUTH_OK);
	assert_int_equal(s.lookups, 1);
	assert_string_equal(p.key.org_id, "orgA");
	assert_string_equal(p.key_id, "AAAAAAAAA");
	/* another key has its own lease */
	assert_int_equal(check(a, &s, KEY_B, &p), AUTH_OK);
	assert_string_equal(p.key.org_id, "orgB");
	assert_int_equal(s.lookups, 2);
	auth_free(a);
}

static void test_wrong_secret_refused_with_a_lease(void **state)
{
	struct store s = {0};
	struct auth *a = auth_new(1000);
	struct principal p;

	(void)state;
	assert_int_equal(check(a, &s, KEY_A_WRONG, &p), AUTH_DENIED);
	assert_int_equal(check(a, &s, KEY_A, &p), AUTH_OK);
	assert_int_equal(check(a, &s, KEY_A_WRONG, &p), AUTH_DENIED);
	assert_int_equal(check(a, &s, KEY_A, &p), AUTH_OK);
	assert_int_equal(check(a, &s, "ck_CCCCCCCCC_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG", &p),
			 AUTH_DENIED);
	assert_int_equal(check(a, &s, "garbage", &p), AUTH_DENIED);
	auth_free(a);
}

static void test_lease_ends(void **state)
{
	struct store s = {0};
	struct auth *a = auth_new(30);
	struct principal p;
	int before;

	(void)state;
	assert_int_equal(check(a, &s, KEY_A, &p), AUTH_OK);
	assert_int_equal(p.key.cache_epoch, 0);
	/* the record changes in the store: within the lease the old one is
	 * trusted, after it the new one is read */
	s.epoch = 7;
	s.revoked_a = true;
	before = s.lookups;
	sleep_ms(40);
	assert_int_equal(check(a, &s, KEY_A, &p), AUTH_DENIED);
	assert_int_equal(s.lookups, before + 1);
	/* not found is never leased */
	assert_int_equal(check(a, &s, KEY_A, &p), AUTH_DENIED);
	assert_int_equal(s.lookups, before + 2);
	s.revoked_a = false;
	assert_int_equal(check(a, &s, KEY_A, &p), AUTH_OK);
	assert_int_equal(p.key.cache_epoch, 7);
	auth_free(a);
}

static void test_wait_leases_outlasts_a_lease(void **state)
{
	struct store s = {0};
	struct auth *a = auth_new(25);
	struct principal p;

	(void)state;
	assert_int_equal(check(a, &s, KEY_A, &p), AUTH_OK);
	s.revoked_a = true; /* "committed" */
	lease_wait(25);
	assert_int_equal(check(a, &s, KEY_A, &p), AUTH_DENIED);
	auth_free(a);
}

static void test_no_lease(void **state)
{
	struct store s = {0};
	struct auth *a = auth_new(0);
	struct principal p;

	(void)state;
	for (int i = 0; i < 5; i++)
		assert_int_equal(check(a, &s, KEY_A, &p), AUTH_OK);
	assert_int_equal(s.lookups, 5);
	auth_free(a);
}

static void test_store_down(void **state)
{
	struct store s = {.down = true};
	struct auth *a = auth_new(1000);
	struct principal p;

	(void)state;
	assert_int_equal(check(a, &s, KEY_A, &p), AUTH_UNAVAILABLE);
	s.down = false;
	assert_int_equal(check(a, &s, KEY_A, &p), AUTH_OK);
	/* with a lease, a store that goes down is not asked */
	s.down = true;
	assert_int_equal(check(a, &s, KEY_A, &p), AUTH_OK);
	auth_free(a);
}

static void test_forget_org(void **state)
{
	struct store s = {0};
	struct auth *a = auth_new(1000);
	struct principal p;

	(void)state;
	assert_int_equal(check(a, &s, KEY_A, &p), AUTH_OK);
	assert_int_equal(check(a, &s, KEY_B, &p), AUTH_OK);
	auth_forget_org(a, "orgA");
	assert_int_equal(check(a, &s, KEY_A, &p), AUTH_OK);
	assert_int_equal(check(a, &s, KEY_B, &p), AUTH_OK);
	assert_int_equal(s.lookups, 3);
	auth_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_shape),
		cmocka_unit_test(test_key_headers),
		cmocka_unit_test(test_lease_saves_lookups),
		cmocka_unit_test(test_wrong_secret_refused_with_a_lease),
		cmocka_unit_test(test_lease_ends),
		cmocka_unit_test(test_wait_leases_outlasts_a_lease),
		cmocka_unit_test(test_no_lease),
		cmocka_unit_test(test_store_down),
		cmocka_unit_test(test_forget_org),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
