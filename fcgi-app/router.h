/* router.h - the route table: method and path to a route.  Pure.
 *
 * A route's path is literal segments and parameters: {id} matches a
 * segment of 9 of [A-Za-z0-9], {name} one of 1-64 of [a-z0-9_]; a literal
 * route wins over a parameter one ("/contacts/bulk" before
 * "/contacts/{id}").
 */
#ifndef CONTACTS_ROUTER_H
#define CONTACTS_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

enum route_id {
	ROUTE_HEALTHZ,
	ROUTE_METRICS,
	ROUTE_TEST,
	ROUTE_CONTACTS_GET,
	ROUTE_CONTACTS_POST,
	ROUTE_CONTACTS_BULK,
	ROUTE_CONTACTS_DELETE,
	ROUTE_CHANGES_GET,
	ROUTE_CONTACT_GET,
	ROUTE_CONTACT_PATCH,
	ROUTE_CONTACT_DELETE,
	ROUTE_LISTS_GET,
	ROUTE_LISTS_POST,
	ROUTE_LIST_GET,
	ROUTE_LIST_PATCH,
	ROUTE_LIST_DELETE,
	ROUTE_LIST_CONTACTS_GET,
	ROUTE_FIELDS_GET,
	ROUTE_FIELDS_POST,
	ROUTE_FIELD_DELETE,
	ROUTE_SUPPRESSIONS_DELETE,
	ROUTE__COUNT,
};

enum route_result {
	ROUTE_FOUND = 0,
	ROUTE_NO_PATH = 1,   /* 404 */
	ROUTE_NO_METHOD = 2, /* 405: see allow */
};

/* The longest path parameter kept; a longer segment matches no route. */
#define ROUTE_PARAM_MAX 256

struct route_match {
	enum route_id id;
	const char *name; /* "GET /contacts/{id}": for logs and metrics */
	bool needs_auth;
	char param[ROUTE_PARAM_MAX]; /* the path's one parameter, or "" */
	char allow[64];   /* for 405: "GET, HEAD, POST" */
};

enum route_result router_match(const char *method, const char *path,
			       struct route_match *out);
/* The largest body a request for method and path may send: 64 KiB, and
 * 4 MiB for POST /contacts/bulk (nginx/contacts.conf says the same). */
#define ROUTE_BODY_MAX (64 * 1024)
#define ROUTE_BULK_BODY_MAX (4 * 1024 * 1024)
size_t router_body_limit(const char *method, const char *path);

/* The label of a route id, e.g. "POST /lists". */
const char *router_name(enum route_id id);

#endif
