/* test_inflight.c - the shared table of writes in flight: a note per slot,
 * the pending count, clearing only the note one holds, a note seen from
 * another process after fork(), and whose a note is. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "inflight.h"

static const struct store_backend B1 = {.pid = 4242, .start = "2026-11-28 06:00:00.1+00"};

static int setup(void **state)
{
	*state = inflight_new(4);
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	inflight_free(*state);
	return 0;
}

static void test_note_and_clear(void **state)
{
	struct inflight *f = *state;
	struct inflight_note n;
	uint64_t seq;

	assert_int_equal(inflight_pending(f), 0);
	assert_false(inflight_get(f, 1, &n));
	seq = inflight_note(f, 1, "ORGAAAAAA", &B1, 777);
	assert_true(seq > 0);
	assert_int_equal(inflight_pending(f), 1);
	assert_true(inflight_get(f, 1, &n));
	assert_string_equal(n.org_id, "ORGAAAAAA");
	assert_int_equal(n.backend.pid, 4242);
	assert_string_equal(n.backend.start, B1.start);
	assert_int_equal(n.seq, seq);
	/* a second note in the same slot waits for the first */
	assert_int_equal(inflight_note(f, 1, "ORGBBBBBB", &B1, 777), 0);
	/* clearing another note changes nothing */
	inflight_clear(f, 1, seq + 1);
	assert_int_equal(inflight_pending(f), 1);
	inflight_clear(f, 1, seq);
	assert_int_equal(inflight_pending(f), 0);
	assert_false(inflight_get(f, 1, &n));
	/* clearing twice is harmless */
	inflight_clear(f, 1, seq);
	assert_int_equal(inflight_pending(f), 0);
	/* the next note has a new seq: an old clear cannot drop it */
	assert_true(inflight_note(f, 1, "ORGBBBBBB", &B1, 777) > seq);
	inflight_clear(f, 1, seq);
	assert_int_equal(inflight_pending(f), 1);
}

static void test_committed_needs_no_backend(void **state)
{
	struct inflight *f = *state;
	struct inflight_note n;
	uint64_t seq = inflight_note(f, 0, "ORGAAAAAA", &B1, 777);

	inflight_committed(f, 0, seq);
	assert_true(inflight_get(f, 0, &n));
	assert_int_equal(n.backend.pid, 0);
	assert_string_equal(n.org_id, "ORGAAAAAA");
}

static void test_slots_are_apart(void **state)
{
	struct inflight *f = *state;
	struct inflight_note n;

	assert_true(inflight_note(f, 0, "ORGAAAAAA", &B1, 777) > 0);
	assert_true(inflight_note(f, 3, "ORGCCCCCC", &B1, 777) > 0);
	assert_int_equal(inflight_pending(f), 2);
	assert_true(inflight_get(f, 3, &n));
	assert_string_equal(n.org_id, "ORGCCCCCC");
	assert_false(inflight_get(f, 2, &n));
}

static void test_note_of_a_dead_process(void **state)
{
	struct inflight *f = *state;
	struct inflight_note n;
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		/* noted, then gone without clearing: as a killed worker */
		_exit(inflight_note(f, 2, "ORGDDDDDD", &B1, getpid()) > 0 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(inflight_pending(f), 1);
	assert_true(inflight_get(f, 2, &n));
	assert_string_equal(n.org_id, "ORGDDDDDD");
	assert_int_equal(n.owner, pid); /* whose it was: writes.c sees it is gone */
	inflight_clear(f, 2, n.seq);
	assert_int_equal(inflight_pending(f), 0);
}

static void test_a_note_given_up_is_nobodys(void **state)
{
	struct inflight *f = *state;
	struct inflight_note n;
	uint64_t seq;

	/* nothing to give up: the next note is still its owner's */
	inflight_leave(f, 1);
	seq = inflight_note(f, 1, "ORGAAAAAA", &B1, 777);
	assert_true(inflight_get(f, 1, &n));
	assert_int_equal(n.owner, 777);
	inflight_leave(f, 1);
	assert_true(inflight_get(f, 1, &n));
	assert_int_equal(n.owner, 0);
	assert_int_equal(n.seq, seq);
	assert_string_equal(n.org_id, "ORGAAAAAA");
	/* taken up by another worker: cleared as any note */
	inflight_clear(f, 1, seq);
	assert_false(inflight_get(f, 1, &n));
	assert_true(inflight_note(f, 1, "ORGBBBBBB", &B1, 778) > seq);
	assert_true(inflight_get(f, 1, &n));
	assert_int_equal(n.owner, 778);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_note_and_clear, setup, teardown),
		cmocka_unit_test_setup_teardown(test_committed_needs_no_backend, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slots_are_apart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_note_of_a_dead_process, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_note_given_up_is_nobodys, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
