/* router.c - the route table. */
#include "router.h"

#include <stdio.h>
#include <string.h>

static const struct route {
	const char *method;
	const char *path;
	enum route_id id;
	bool needs_auth;
	const char *name;
} routes[] = {
	{"GET", "/healthz", ROUTE_HEALTHZ, false, "GET /healthz"},
	{"GET", "/metrics", ROUTE_METRICS, false, "GET /metrics"},
	{"GET", "/test", ROUTE_TEST, true, "GET /test"},
	{"GET", "/contacts", ROUTE_CONTACTS_GET, true, "GET /contacts"},
	{"POST", "/contacts", ROUTE_CONTACTS_POST, true, "POST /contacts"},
	{"GET", "/lists", ROUTE_LISTS_GET, true, "GET /lists"},
	{"POST", "/lists", ROUTE_LISTS_POST, true, "POST /lists"},
};

#define NROUTES (sizeof(routes) / sizeof(routes[0]))

enum route_result router_match(const char *method, const char *path,
			       struct route_match *out)
{
	bool path_known = false;
	size_t n = 0;

	out->allow[0] = '\0';
	for (size_t i = 0; i < NROUTES; i++) {
		if (strcmp(routes[i].path, path) != 0)
			continue;
		if (strcmp(routes[i].method, method) == 0) {
			out->id = routes[i].id;
			out->name = routes[i].name;
			out->needs_auth = routes[i].needs_auth;
			return ROUTE_FOUND;
		}
		path_known = true;
		/* HEAD is answered wherever GET is (worker.c) */
		n += (size_t)snprintf(out->allow + n, sizeof(out->allow) - n,
				      "%s%s%s", n ? ", " : "", routes[i].method,
				      strcmp(routes[i].method, "GET") == 0 ? ", HEAD" : "");
		if (n >= sizeof(out->allow))
			n = sizeof(out->allow) - 1;
	}
	out->name = path_known ? "method_not_allowed" : "not_found";
	out->needs_auth = false;
	return path_known ? ROUTE_NO_METHOD : ROUTE_NO_PATH;
}

const char *router_name(enum route_id id)
{
	for (size_t i = 0; i < NROUTES; i++)
		if (routes[i].id == id)
			return routes[i].name;
	return "unknown";
}
