/* fuzz_resp.c - resp_parse() on any bytes (resp.h).
 *
 * Properties checked, besides memory safety: every value it locates lies
 * inside what it used, and what it used inside the input; a reply parsed
 * from a prefix is RESP_MORE or RESP_BAD, never a different reply, once
 * the whole input parses; parsing is deterministic and does not depend on
 * bytes after the reply. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resp.h"

#define MAXV 9

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "property failed: %s\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct resp_value v[MAXV], w[MAXV];
	size_t used = 0, used2 = 0, count;
	enum resp_status st = resp_parse(p, size, v, MAXV, &used);
	char *copy;

	if (st != RESP_OK)
		return 0;
	check(used > 0 && used <= size, "used within the input");
	count = v[0].type == RESP_ARRAY ? v[0].len + 1 : 1;
	check(count <= MAXV, "at most max values");
	for (size_t i = 0; i < count; i++)
		if (v[i].type == RESP_BULK || v[i].type == RESP_STATUS ||
		    v[i].type == RESP_ERROR)
			check(v[i].off <= used && v[i].len <= used - v[i].off,
			      "a value lies inside the reply");
	/* Every strict prefix needs more or is refused. */
	for (size_t k = 0; k < used; k += 1 + used / 64) {
		enum resp_status ps = resp_parse(p, k, w, MAXV, &used2);

		check(ps != RESP_OK, "a strict prefix is not a whole reply");
	}
	/* The same reply with other bytes after it. */
	copy = malloc(used + 3);
	memcpy(copy, p, used);
	memcpy(copy + used, "$1\r", 3);
	check(resp_parse(copy, used + 3, w, MAXV, &used2) == RESP_OK && used2 == used &&
		      w[0].type == v[0].type,
	      "bytes after a reply do not change it");
	free(copy);
	return 0;
}
