/* fuzz_router.c - libFuzzer harness for the route table (router.c).
 *
 * The input is split at its first NUL or newline into a method and a path
 * (no separator: the whole input is the method and the path is empty);
 * each part is a NUL-terminated copy of exactly its size.  Properties
 * checked (abort() on failure):
 *  - ROUTE_FOUND: the id is a real route, router_name(id) equals m.name,
 *    and m.name is "<method> <pattern>" where the pattern with its
 *    parameter replaced by m.param (a non-empty segment) is the path;
 *  - ROUTE_NO_METHOD: allow is a non-empty, NUL-terminated list that does
 *    not name the method asked for, and the same path with the first
 *    allowed method is found;
 *  - ROUTE_NO_PATH: no method at all finds the path;
 *  - the answer does not depend on what was in the match struct before.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router.h"

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "fuzz_router: property failed: %s (%s:%d)\n", \
				#cond, __FILE__, __LINE__);                  \
			abort();                                             \
		}                                                            \
	} while (0)

/* The pattern with its "{...}" segment replaced by param (a static
 * buffer: one call at a time). */
static const char *expand(const char *pattern, const char *param)
{
	static char out[2 * ROUTE_PARAM_MAX + 64];
	const char *open = strchr(pattern, '{'), *close;
	size_t n;

	if (!open) {
		CHECK(param[0] == '\0');
		return pattern;
	}
	close = strchr(open, '}');
	CHECK(close != NULL);
	CHECK(param[0] != '\0' && !strchr(param, '/'));
	n = (size_t)(open - pattern);
	CHECK(n + strlen(param) + strlen(close + 1) < sizeof(out));
	memcpy(out, pattern, n);
	strcpy(out + n, param);
	strcat(out, close + 1);
	return out;
}

static char *dup_exact(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);

	CHECK(s != NULL);
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static void check_match(const char *method, const char *path)
{
	static const char *const methods[] = {"GET", "POST", "PUT", "DELETE",
					      "PATCH", "HEAD", "OPTIONS", NULL};
	struct route_match m, m2;
	enum route_result r, r2;

	memset(&m, 0x5a, sizeof(m));
	r = router_match(method, path, &m);
	memset(&m2, 0, sizeof(m2));
	r2 = router_match(method, path, &m2);
	CHECK(r == r2);
	CHECK(memchr(m.allow, '\0', sizeof(m.allow)) != NULL);
	CHECK(strcmp(m.allow, m2.allow) == 0);
	CHECK(m.name != NULL && m.name == m2.name);
	CHECK(m.needs_auth == m2.needs_auth);

	switch (r) {
	case ROUTE_FOUND: {
		const char *name;
		size_t ml = strlen(method);

		CHECK(m.id == m2.id);
		CHECK((unsigned)m.id < ROUTE__COUNT);
		name = router_name(m.id);
		CHECK(name != NULL);
		if (strcmp(name, m.name) != 0)
			fprintf(stderr, "fuzz_router: router_name(%d) = \"%s\", m.name = \"%s\"\n",
				m.id, name, m.name);
		CHECK(strcmp(name, m.name) == 0);
		CHECK(strncmp(m.name, method, ml) == 0);
		CHECK(m.name[ml] == ' ');
		CHECK(strcmp(expand(m.name + ml + 1, m.param), path) == 0);
		CHECK(strcmp(m.param, m2.param) == 0);
		break;
	}
	case ROUTE_NO_METHOD: {
		char first[sizeof(m.allow)];
		size_t n = strcspn(m.allow, ",");
		struct route_match m3;

		CHECK(m.allow[0] != '\0');
		CHECK(!m.needs_auth);
		memcpy(first, m.allow, n);
		first[n] = '\0';
		CHECK(strcmp(first, method) != 0);
		CHECK(router_match(first, path, &m3) == ROUTE_FOUND);
		break;
	}
	case ROUTE_NO_PATH:
		CHECK(m.allow[0] == '\0');
		CHECK(!m.needs_auth);
		for (size_t i = 0; methods[i]; i++) {
			struct route_match m3;

			CHECK(router_match(methods[i], path, &m3) == ROUTE_NO_PATH);
		}
		break;
	default:
		CHECK(!"router_match returned an unknown result");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t cut = size;
	char *method, *path;

	for (size_t i = 0; i < size; i++) {
		if (data[i] == '\0' || data[i] == '\n') {
			cut = i;
			break;
		}
	}
	method = dup_exact(data, cut);
	path = cut < size ? dup_exact(data + cut + 1, size - cut - 1) : dup_exact(data, 0);

	check_match(method, path);
	/* Swapped: a path where a method goes and the other way round. */
	check_match(path, method);

	free(method);
	free(path);
	return 0;
}
