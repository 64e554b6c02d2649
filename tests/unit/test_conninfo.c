/* test_conninfo.c - connection strings with their secrets masked, in every
 * form libpq takes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "conninfo.h"

static const struct {
	const char *in;
	const char *out; /* NULL: libpq cannot parse it */
} cases[] = {
	{"dbname=contacts", "dbname=contacts"},
	{"", ""},
	{"host=/run/postgresql dbname=contacts user=contacts",
	 "user=contacts dbname=contacts host=/run/postgresql"},
	/* keyword form, plain and quoted */
	{"host=h password=secret dbname=db", "password=******** dbname=db host=h"},
	{"password='se cret' dbname=db", "password=******** dbname=db"},
	{"password = 'it''s' dbname=db", NULL},
	{"password='it\\'s \\\\ x' user=u", "user=u password=********"},
	{"password=", "password=********"},
	{"sslpassword=keypass sslmode=require",
	 "sslmode=require sslpassword=********"},
	/* URI form: in the authority, percent-encoded, in the query */
	{"postgresql://u:secret@h/db", "user=u password=******** dbname=db host=h"},
	{"postgres://u:s%40cr%3At@h:5433/db",
	 "user=u password=******** dbname=db host=h port=5433"},
	{"postgresql://h/db?password=secret&sslpassword=x",
	 "password=******** dbname=db host=h sslpassword=********"},
	{"postgresql://u@h/db", "user=u dbname=db host=h"},
	{"postgresql:///db?host=/run/postgresql", "dbname=db host=/run/postgresql"},
	/* a dbname that is a connection string of its own */
	{"dbname='postgresql://u:secret@h/db'",
	 "dbname='user=u password=******** dbname=db host=h'"},
	{"dbname='user=u password=secret'", "dbname='user=u password=********'"},
	/* values that need quoting on the way back */
	{"host=h application_name='my app'", "host=h application_name='my app'"},
	/* not a connection string: nothing of it may be shown */
	{"password='unterminated", NULL},
	{"nonsense", NULL},
	{"bogus=1 password=secret", NULL},
	{"postgresql://u:secret@[::1", NULL},
};

static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = conninfo_masked(cases[i].in);

		if (!cases[i].out) {
			if (got)
				fail_msg("\"%s\" gave \"%s\"", cases[i].in, got);
			continue;
		}
		if (!got)
			fail_msg("\"%s\" was not parsed", cases[i].in);
		if (strcmp(got, cases[i].out) != 0)
			fail_msg("\"%s\": got \"%s\", want \"%s\"", cases[i].in, got,
				 cases[i].out);
		assert_null(strstr(got, "secret"));
		free(got);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
	};

	return cmocka_run_group_tests_name("conninfo", tests, NULL, NULL);
}
