/* test_ratelimit.c - GCRA in the shared table: bursts, refill, the wait it
 * reports, failures counted whether or not they conform, names kept apart,
 * a full table, and the table shared across fork(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ratelimit.h"

#define SEC 1000000000ull
#define T0 (1000 * SEC) /* any start: the clock is the caller's */

static int setup(void **state)
{
	*state = ratelimit_new();
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	ratelimit_free(*state);
	return 0;
}

static bool take(struct ratelimit *rl, const char *name, struct rate r,
		 uint64_t now, uint64_t *wait)
{
	return ratelimit_take(rl, name, strlen(name), r, now, wait);
}

static void test_burst_then_refused(void **state)
{
	struct ratelimit *rl = *state;
	struct rate r = {.count = 5, .period_s = 1};
	uint64_t wait = 0;

	for (int i = 0; i < 5; i++)
		assert_true(take(rl, "k1", r, T0, &wait));
	assert_false(take(rl, "k1", r, T0, &wait));
	/* one event every 200 ms: the next conforms 200 ms later */
	assert_int_equal(wait, SEC / 5);
	assert_false(take(rl, "k1", r, T0 + SEC / 5 - 1, &wait));
	assert_int_equal(wait, 1);
	assert_true(take(rl, "k1", r, T0 + SEC / 5, &wait));
	assert_false(take(rl, "k1", r, T0 + SEC / 5, &wait));
}

/* What is left after each event: the burst counts down, a refused event
 * leaves 0, and the reset is the time until the whole burst is back. */
static void test_quota(void **state)
{
	struct ratelimit *rl = *state;
	struct rate r = {.count = 4, .period_s = 1};
	struct rate_quota q;
	uint64_t wait;

	for (uint32_t i = 1; i <= 4; i++) {
		assert_true(ratelimit_take_quota(rl, "q", 1, r, T0, &wait, &q));
		assert_int_equal(q.remaining, 4 - i);
		assert_int_equal(q.reset_ns, i * SEC / 4);
	}
	assert_false(ratelimit_take_quota(rl, "q", 1, r, T0, &wait, &q));
	assert_int_equal(q.remaining, 0);
	assert_int_equal(q.reset_ns, SEC);
	assert_int_equal(wait, SEC / 4);
	/* 300 ms later one event is back (and part of another) */
	assert_true(ratelimit_take_quota(rl, "q", 1, r, T0 + 3 * SEC / 10, &wait, &q));
	assert_int_equal(q.remaining, 0);
	assert_int_equal(q.reset_ns, SEC - 3 * SEC / 10 + SEC / 4);
	/* long after: the whole burst, less this one */
	assert_true(ratelimit_take_quota(rl, "q", 1, r, T0 + 60 * SEC, &wait, &q));
	assert_int_equal(q.remaining, 3);
	assert_int_equal(q.reset_ns, SEC / 4);
	/* no limit: everything is left */
	r.count = 0;
	assert_true(ratelimit_take_quota(rl, "q", 1, r, T0, &wait, &q));
	assert_int_equal(q.remaining, 0);
	assert_int_equal(q.reset_ns, 0);
}

static void test_refill_to_a_full_burst_and_no_more(void **state)
{
	struct ratelimit *rl = *state;
	struct rate r = {.count = 3, .period_s = 1};
	uint64_t wait;
	int n = 0;

	for (int i = 0; i < 3; i++)
		assert_true(take(rl, "k2", r, T0, &wait));
	/* a long pause gives back the burst, never more than the burst */
	while (take(rl, "k2", r, T0 + 60 * SEC, &wait))
		n++;
	assert_int_equal(n, 3);
}

static void test_steady_rate_is_allowed(void **state)
{
	struct ratelimit *rl = *state;
	struct rate r = {.count = 10, .period_s = 1};
	uint64_t wait;

	/* exactly the rate, for ten seconds: never refused */
	for (int i = 0; i < 100; i++)
		assert_true(take(rl, "k3", r, T0 + (uint64_t)i * SEC / 10, &wait));
}

static void test_names_are_apart(void **state)
{
	struct ratelimit *rl = *state;
	struct rate r = {.count = 1, .period_s = 60};
	uint64_t wait;

	assert_true(take(rl, "a", r, T0, &wait));
	assert_false(take(rl, "a", r, T0, &wait));
	assert_true(take(rl, "b", r, T0, &wait));
	assert_true(take(rl, "ab", r, T0, &wait));
	/* the same bytes are the same name */
	assert_false(ratelimit_take(rl, "abc", 2, r, T0, &wait));
}

static void test_unlimited(void **state)
{
	struct ratelimit *rl = *state;
	struct rate r = {.count = 0, .period_s = 1};
	uint64_t wait = 42;

	for (int i = 0; i < 10000; i++)
		assert_true(take(rl, "free", r, T0, &wait));
	assert_int_equal(wait, 0);
}

static void test_peek_and_charge(void **state)
{
	struct ratelimit *rl = *state;
	struct rate r = {.count = 3, .period_s = 60}; /* 3 per minute */
	uint64_t wait;

	/* peeking counts nothing */
	for (int i = 0; i < 10; i++)
		assert_true(ratelimit_peek(rl, "ip", 2, r, T0, &wait));
	/* three failures use the burst; the next attempt is refused for 20 s */
	for (int i = 0; i < 3; i++)
		ratelimit_charge(rl, "ip", 2, r, T0);
	assert_false(ratelimit_peek(rl, "ip", 2, r, T0, &wait));
	assert_int_equal(wait, 20 * SEC);
	/* a failure beyond the limit still counts: the wait grows */
	ratelimit_charge(rl, "ip", 2, r, T0);
	assert_false(ratelimit_peek(rl, "ip", 2, r, T0, &wait));
	assert_int_equal(wait, 40 * SEC);
	assert_true(ratelimit_peek(rl, "ip", 2, r, T0 + 40 * SEC, &wait));
}

static void test_full_table_lets_new_names_through(void **state)
{
	struct ratelimit *rl = *state;
	struct rate r = {.count = 1, .period_s = 3600};
	char name[32];
	uint64_t wait, before = ratelimit_overflows(rl);
	int refused = 0;

	/* 20,000 names active at once, more than the table holds */
	for (int i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		assert_true(take(rl, name, r, T0, &wait));
	}
	assert_true(ratelimit_overflows(rl) > before);
	/* names that found a slot are still limited */
	for (int i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		if (!take(rl, name, r, T0, &wait))
			refused++;
	}
	assert_true(refused >= 6000);
	/* once they are idle again, their slots serve new names */
	before = ratelimit_overflows(rl);
	for (int i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		assert_true(take(rl, name, r, T0 + 7200 * SEC, &wait));
		assert_false(take(rl, name, r, T0 + 7200 * SEC, &wait));
	}
	assert_int_equal(ratelimit_overflows(rl), before);
}

static void test_shared_across_fork(void **state)
{
	struct ratelimit *rl = *state;
	struct rate r = {.count = 4, .period_s = 1};
	uint64_t wait;
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		for (int i = 0; i < 4; i++)
			if (!take(rl, "shared", r, T0, &wait))
				_exit(1);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* the child used the whole burst */
	assert_false(take(rl, "shared", r, T0, &wait));
}

/* What another host's count says is copied in: the name is refused here
 * as it is there, until that time has passed; a lower time changes
 * nothing. */
static void test_raise(void **state)
{
	struct ratelimit *rl = *state;
	struct rate r = {.count = 4, .period_s = 60}; /* interval 15 s */
	uint64_t wait;

	/* 4 events elsewhere: the arrival time is 60 s ahead. */
	ratelimit_raise(rl, "a", 1, T0, 60 * SEC);
	assert_false(ratelimit_peek(rl, "a", 1, r, T0, &wait));
	assert_int_equal(wait, 15 * SEC);
	ratelimit_raise(rl, "a", 1, T0, 10 * SEC); /* not lowered */
	assert_false(ratelimit_peek(rl, "a", 1, r, T0, &wait));
	assert_true(ratelimit_peek(rl, "a", 1, r, T0 + 15 * SEC, &wait));
	assert_true(ratelimit_peek(rl, "b", 1, r, T0, &wait));
}

static void test_quota_of(void **state)
{
	struct rate r = {.count = 10, .period_s = 1}; /* interval 100 ms */
	struct rate_quota q;

	(void)state;
	q = ratelimit_quota_of(r, 0);
	assert_int_equal(q.remaining, 10);
	assert_int_equal(q.reset_ns, 0);
	q = ratelimit_quota_of(r, 100000000u); /* one used */
	assert_int_equal(q.remaining, 9);
	assert_int_equal(q.reset_ns, 100000000u);
	q = ratelimit_quota_of(r, 150000000u); /* part of one counts whole */
	assert_int_equal(q.remaining, 8);
	q = ratelimit_quota_of(r, 5 * SEC);
	assert_int_equal(q.remaining, 0);
	q = ratelimit_quota_of((struct rate){.count = 0, .period_s = 1}, SEC);
	assert_int_equal(q.remaining, 0);
	assert_int_equal(q.reset_ns, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_burst_then_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quota, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refill_to_a_full_burst_and_no_more, setup, teardown),
		cmocka_unit_test_setup_teardown(test_steady_rate_is_allowed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_names_are_apart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unlimited, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peek_and_charge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_table_lets_new_names_through, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shared_across_fork, setup, teardown),
		cmocka_unit_test_setup_teardown(test_raise, setup, teardown),
		cmocka_unit_test(test_quota_of),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
