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
	{"DELETE", "/contacts", ROUTE_CONTACTS_DELETE, true, "DELETE /contacts"},
	{"POST", "/contacts/bulk", ROUTE_CONTACTS_BULK, true, "POST /contacts/bulk"},
	{"GET", "/contacts/changes", ROUTE_CHANGES_GET, true, "GET /contacts/changes"},
	{"GET", "/contacts/{id}", ROUTE_CONTACT_GET, true, "GET /contacts/{id}"},
	{"PATCH", "/contacts/{id}", ROUTE_CONTACT_PATCH, true, "PATCH /contacts/{id}"},
	{"DELETE", "/contacts/{id}", ROUTE_CONTACT_DELETE, true, "DELETE /contacts/{id}"},
	{"GET", "/lists", ROUTE_LISTS_GET, true, "GET /lists"},
	{"POST", "/lists", ROUTE_LISTS_POST, true, "POST /lists"},
	{"GET", "/lists/{id}", ROUTE_LIST_GET, true, "GET /lists/{id}"},
	{"PATCH", "/lists/{id}", ROUTE_LIST_PATCH, true, "PATCH /lists/{id}"},
	{"DELETE", "/lists/{id}", ROUTE_LIST_DELETE, true, "DELETE /lists/{id}"},
	{"GET", "/lists/{id}/contacts", ROUTE_LIST_CONTACTS_GET, true,
	 "GET /lists/{id}/contacts"},
	{"GET", "/fields", ROUTE_FIELDS_GET, true, "GET /fields"},
	{"POST", "/fields", ROUTE_FIELDS_POST, true, "POST /fields"},
	{"DELETE", "/fields/{name}", ROUTE_FIELD_DELETE, true, "DELETE /fields/{name}"},
	{"DELETE", "/suppressions", ROUTE_SUPPRESSIONS_DELETE, true,
	 "DELETE /suppressions"},
};

#define NROUTES (sizeof(routes) / sizeof(routes[0]))

/* Can seg[0..n) be the parameter {id} (9 of [A-Za-z0-9], as id.h makes
 * them) or {name} (a custom field's: 1-64 of [a-z0-9_])?  A segment of
 * another shape names nothing: 404 before authentication, like any
 * unknown path. */
static bool param_fits(const char *kind, const char *seg, size_t n)
{
	bool id = strncmp(kind, "{id}", 4) == 0;

	if (id ? n != 9 : (n == 0 || n > 64))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = seg[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			  (id ? (c >= 'A' && c <= 'Z') : c == '_');

		if (!ok)
			return false;
	}
	return true;
}

/* Does path match pattern?  A "{...}" segment of the pattern takes one
 * segment of the path of its shape, copied to param.  *literal tells
 * whether the pattern had no parameter. */
static bool path_matches(const char *pattern, const char *path, char *param,
			 bool *literal)
{
	const char *p = pattern, *s = path;

	*literal = true;
	param[0] = '\0';
	while (*p && *s) {
		if (*p == '{') {
			size_t n = strcspn(s, "/");

			if (n >= ROUTE_PARAM_MAX || !param_fits(p, s, n))
				return false;
			memcpy(param, s, n);
			param[n] = '\0';
			*literal = false;
			s += n;
			p = strchr(p, '}');
			if (!p)
				return false;
			p++;
			continue;
		}
		if (*p != *s)
			return false;
		p++;
		s++;
	}
	return *p == '\0' && *s == '\0';
}

static void allow_add(struct route_match *out, size_t *n, const char *method)
{
	if (strstr(out->allow, method))
		return;
	/* HEAD is answered wherever GET is (worker.c) */
	*n += (size_t)snprintf(out->allow + *n, sizeof(out->allow) - *n, "%s%s%s",
			       *n ? ", " : "", method,
			       strcmp(method, "GET") == 0 ? ", HEAD" : "");
	if (*n >= sizeof(out->allow))
		*n = sizeof(out->allow) - 1;
}

enum route_result router_match(const char *method, const char *path,
			       struct route_match *out)
{
	char param[ROUTE_PARAM_MAX];
	/* The best kind of path match so far: 0 none, 1 with a parameter,
	 * 2 literal.  Only routes of the best kind count. */
	int best = 0;
	const struct route *found = NULL;
	size_t n = 0;

	out->allow[0] = '\0';
	out->param[0] = '\0';
	for (size_t i = 0; i < NROUTES; i++) {
		bool literal;
		int kind;

		if (!path_matches(routes[i].path, path, param, &literal))
			continue;
		kind = literal ? 2 : 1;
		if (kind < best)
			continue;
		if (kind > best) {
			best = kind;
			found = NULL;
			out->allow[0] = '\0';
			n = 0;
		}
		allow_add(out, &n, routes[i].method);
		if (!found && strcmp(routes[i].method, method) == 0) {
			found = &routes[i];
			memcpy(out->param, param, sizeof(param));
		}
	}
	if (found) {
		out->id = found->id;
		out->name = found->name;
		out->needs_auth = found->needs_auth;
		return ROUTE_FOUND;
	}
	out->name = best ? "method_not_allowed" : "not_found";
	out->needs_auth = false;
	return best ? ROUTE_NO_METHOD : ROUTE_NO_PATH;
}

size_t router_body_limit(const char *method, const char *path)
{
	return strcmp(method, "POST") == 0 && strcmp(path, "/contacts/bulk") == 0
		       ? ROUTE_BULK_BODY_MAX
		       : ROUTE_BODY_MAX;
}

const char *router_name(enum route_id id)
{
	for (size_t i = 0; i < NROUTES; i++)
		if (routes[i].id == id)
			return routes[i].name;
	return "unknown";
}
