/* router.h - the route table: method and path to a route.  Pure. */
#ifndef CONTACTS_ROUTER_H
#define CONTACTS_ROUTER_H

#include <stdbool.h>

enum route_id {
	ROUTE_HEALTHZ,
	ROUTE_METRICS,
	ROUTE_TEST,
	ROUTE_CONTACTS_GET,
	ROUTE_CONTACTS_POST,
	ROUTE_LISTS_GET,
	ROUTE_LISTS_POST,
	ROUTE__COUNT,
};

enum route_result {
	ROUTE_FOUND = 0,
	ROUTE_NO_PATH = 1,   /* 404 */
	ROUTE_NO_METHOD = 2, /* 405: see allow */
};

struct route_match {
	enum route_id id;
	const char *name; /* "GET /contacts": for logs and metrics */
	bool needs_auth;
	char allow[64];   /* for 405: "GET, HEAD, POST" */
};

enum route_result router_match(const char *method, const char *path,
			       struct route_match *out);
/* The label of a route id, e.g. "POST /lists". */
const char *router_name(enum route_id id);

#endif
