/* test_router.c - the route table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "router.h"

static const struct {
	const char *method, *path;
	enum route_result result;
	enum route_id id;
	bool needs_auth;
	const char *allow;
} cases[] = {
	{"GET", "/healthz", ROUTE_FOUND, ROUTE_HEALTHZ, false, ""},
	{"GET", "/metrics", ROUTE_FOUND, ROUTE_METRICS, false, ""},
	{"GET", "/test", ROUTE_FOUND, ROUTE_TEST, true, ""},
	{"GET", "/contacts", ROUTE_FOUND, ROUTE_CONTACTS_GET, true, ""},
	{"POST", "/contacts", ROUTE_FOUND, ROUTE_CONTACTS_POST, true, ""},
	{"GET", "/lists", ROUTE_FOUND, ROUTE_LISTS_GET, true, ""},
	{"POST", "/lists", ROUTE_FOUND, ROUTE_LISTS_POST, true, ""},
	{"DELETE", "/contacts", ROUTE_FOUND, ROUTE_CONTACTS_DELETE, true, ""},
	{"PUT", "/contacts", ROUTE_NO_METHOD, 0, false, "GET, HEAD, POST, DELETE"},
	{"PUT", "/lists", ROUTE_NO_METHOD, 0, false, "GET, HEAD, POST"},
	{"GET", "/contacts/abcdefghi", ROUTE_FOUND, ROUTE_CONTACT_GET, true, ""},
	{"PATCH", "/contacts/A1b2C3d4E", ROUTE_FOUND, ROUTE_CONTACT_PATCH, true, ""},
	{"POST", "/contacts/A1b2C3d4E", ROUTE_NO_METHOD, 0, false, "GET, HEAD, PATCH, DELETE"},
	{"GET", "/contacts/abc", ROUTE_NO_PATH, 0, false, ""},
	{"GET", "/contacts/abcdefgh!", ROUTE_NO_PATH, 0, false, ""},
	{"GET", "/contacts/abcdefghij", ROUTE_NO_PATH, 0, false, ""},
	{"GET", "/lists/abcdefghi/contacts", ROUTE_FOUND, ROUTE_LIST_CONTACTS_GET, true, ""},
	{"POST", "/lists/abcdefghi/contacts", ROUTE_NO_METHOD, 0, false, "GET, HEAD"},
	{"DELETE", "/fields/Tier", ROUTE_NO_PATH, 0, false, ""},
	{"DELETE", "/fields/tier", ROUTE_FOUND, ROUTE_FIELD_DELETE, true, ""},
	{"GET", "/fields/tier", ROUTE_NO_METHOD, 0, false, "DELETE"},
	{"DELETE", "/suppressions", ROUTE_FOUND, ROUTE_SUPPRESSIONS_DELETE, true, ""},
	{"GET", "/contacts/abcdefghi/b", ROUTE_NO_PATH, 0, false, ""},
	{"GET", "/lists//contacts", ROUTE_NO_PATH, 0, false, ""},
	{"POST", "/healthz", ROUTE_NO_METHOD, 0, false, "GET, HEAD"},
	{"HEAD", "/test", ROUTE_NO_METHOD, 0, false, "GET, HEAD"},
	{"get", "/contacts", ROUTE_NO_METHOD, 0, false, "GET, HEAD, POST, DELETE"},
	{"GET", "/contacts/", ROUTE_NO_PATH, 0, false, ""},
	{"GET", "/Contacts", ROUTE_NO_PATH, 0, false, ""},
	{"GET", "/", ROUTE_NO_PATH, 0, false, ""},
	{"GET", "", ROUTE_NO_PATH, 0, false, ""},
	{"", "/contacts", ROUTE_NO_METHOD, 0, false, "GET, HEAD, POST, DELETE"},
};

static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct route_match m;
		enum route_result r = router_match(cases[i].method, cases[i].path, &m);

		assert_int_equal(r, cases[i].result);
		if (r == ROUTE_FOUND) {
			assert_int_equal(m.id, cases[i].id);
			assert_int_equal(m.needs_auth, cases[i].needs_auth);
			assert_string_equal(m.name, router_name(m.id));
			if (strchr(cases[i].path + 1, '/') && strchr(m.name, '{'))
				assert_int_equal(strlen(m.param), 9 + (m.id == ROUTE_FIELD_DELETE ? -5 : 0));
		}
		if (r == ROUTE_NO_METHOD)
			assert_string_equal(m.allow, cases[i].allow);
		if (r == ROUTE_NO_PATH)
			assert_false(m.needs_auth);
	}
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(router_name(ROUTE_CONTACTS_POST), "POST /contacts");
	assert_string_equal(router_name(ROUTE_LISTS_GET), "GET /lists");
	assert_string_equal(router_name(ROUTE__COUNT), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests_name("router", tests, NULL, NULL);
}
