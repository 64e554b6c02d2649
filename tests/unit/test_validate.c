/* test_validate.c - email rule, UTF-8 checks, trimming and folding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "validate.h"

/* Cases given as C strings (no NUL inside); see test_email_nul for NULs. */
static const struct {
	const char *email;
	bool valid;
} email_cases[] = {
	/* The ordinary shapes. */
	{"ann@example.com", true},
	{"Ann.Lee@Example.COM", true},
	{"a@b.co", true},
	{"x@a.b", true},
	{"ann.lee+tag@mail.example.org", true},
	{"user@123.example", true},
	{"user@example.123", true},
	{"!#$%&'*+/=?^_`{|}~-@example.com", true},
	{"a.b.c.d@example.com", true},
	/* Dots in the local part. */
	{".ann@example.com", false},
	{"ann.@example.com", false},
	{"ann..lee@example.com", false},
	{".@example.com", false},
	{"..@example.com", false},
	/* '@' count and parts. */
	{"annexample.com", false},
	{"ann@@example.com", false},
	{"ann@lee@example.com", false},
	{"@example.com", false},
	{"ann@", false},
	{"@", false},
	{"", false},
	/* Domain labels. */
	{"ann@localhost", false},
	{"ann@example", false},
	{"ann@.example.com", false},
	{"ann@example.com.", false},
	{"ann@example..com", false},
	{"ann@.", false},
	{"ann@-example.com", false},
	{"ann@example-.com", false},
	{"ann@example.-com", false},
	{"ann@example.com-", false},
	{"ann@ex-ample.com", true},
	{"ann@ex--ample.com", true},
	{"ann@xn--bcher-kva.example", true},
	{"ann@exa_mple.com", false},
	{"ann@exam+ple.com", false},
	{"ann@[192.168.0.1]", false},
	{"ann@192.168.0.1", true}, /* four labels of digits: allowed by the rule */
	/* Quoted local parts, comments and spaces are not supported. */
	{"\"ann\"@example.com", false},
	{"\"ann lee\"@example.com", false},
	{"ann(comment)@example.com", false},
	{"ann lee@example.com", false},
	{"ann@exa mple.com", false},
	{" ann@example.com", false},
	{"ann@example.com ", false},
	{"ann\t@example.com", false},
	{"ann,lee@example.com", false},
	{"ann;lee@example.com", false},
	{"ann\\lee@example.com", false},
	{"ann<lee@example.com", false},
	{"ann@exa\x7fmple.com", false},
	/* Internationalised addresses (RFC 6531). */
	{"jos\xc3\xa9@ex\xc3\xa4mple.com", true},               /* josé@exämple.com */
	{"\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a", true}, /* 用户@例子.广告 */
	{"\xf0\x9f\x98\x80@example.com", true},                 /* an emoji */
	{"ann@\xc3\xa4-b.com", true},
	{"ann@-\xc3\xa4.com", false},
	/* Bytes >= 0x80 that are not valid UTF-8. */
	{"jos\xe9@example.com", false},                         /* Latin-1 é */
	{"ann@ex\xff.com", false},
	{"ann\xc0\xae@example.com", false},                     /* overlong '.' */
	{"ann\xed\xa0\x80@example.com", false},                 /* surrogate */
	{"ann@example.\xf4\x90\x80\x80", false},                /* > U+10FFFF */
	{"ann\xc3@example.com", false},                         /* truncated */
	{"ann@example.com\xc3", false},                         /* truncated at the end */
	{"\x80@example.com", false},                            /* lone continuation */
};

static void test_email_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(email_cases) / sizeof(email_cases[0]); i++) {
		const char *e = email_cases[i].email;
		bool got = email_valid(e, strlen(e));

		if (got != email_cases[i].valid)
			print_error("case %zu \"%s\": got %d, want %d\n", i, e, got,
				    email_cases[i].valid);
		assert_int_equal(got, email_cases[i].valid);
	}
}

/* Fills buf with n copies of c and returns buf + n. */
static char *fill(char *buf, char c, size_t n)
{
	memset(buf, c, n);
	return buf + n;
}

static void test_email_local_length(void **state)
{
	char buf[128];
	char *p;

	(void)state;
	p = fill(buf, 'a', 64);
	strcpy(p, "@example.com");
	assert_true(email_valid(buf, strlen(buf)));

	p = fill(buf, 'a', 65);
	strcpy(p, "@example.com");
	assert_false(email_valid(buf, strlen(buf)));

	/* 64 bytes counted in bytes: 32 two-byte characters. */
	p = buf;
	for (int i = 0; i < 32; i++) {
		*p++ = '\xc3';
		*p++ = '\xa9';
	}
	strcpy(p, "@example.com");
	assert_true(email_valid(buf, strlen(buf)));
	memmove(buf + 1, buf, strlen(buf) + 1);
	buf[0] = 'a';
	assert_false(email_valid(buf, strlen(buf)));
}

/* local@<labels of 63>...: total length exactly n bytes. */
static size_t make_long(char *buf, size_t n)
{
	char *p = fill(buf, 'a', 64);
	size_t left;

	*p++ = '@';
	left = n - 65;
	while (left > 0) {
		size_t label = left > 63 ? 63 : left;

		/* Never leave a last label of 0 or a trailing dot. */
		if (left > 63 && left - 63 < 2)
			label = 61;
		p = fill(p, 'b', label);
		left -= label;
		if (left > 0) {
			*p++ = '.';
			left--;
		}
	}
	*p = '\0';
	return (size_t)(p - buf);
}

static void test_email_total_length(void **state)
{
	char buf[300];

	(void)state;
	assert_int_equal(make_long(buf, 254), 254);
	assert_true(email_valid(buf, 254));
	assert_int_equal(make_long(buf, 255), 255);
	assert_false(email_valid(buf, 255));
	/* The same 255 bytes are fine as far as each part goes: only the
	 * total is at fault. */
	assert_true(email_valid(buf + 1, 254));
}

static void test_email_label_length(void **state)
{
	char buf[128];
	char *p;

	(void)state;
	strcpy(buf, "ann@");
	p = fill(buf + 4, 'b', 63);
	strcpy(p, ".com");
	assert_true(email_valid(buf, strlen(buf)));

	strcpy(buf, "ann@");
	p = fill(buf + 4, 'b', 64);
	strcpy(p, ".com");
	assert_false(email_valid(buf, strlen(buf)));

	/* The last label too. */
	strcpy(buf, "ann@example.");
	p = fill(buf + 12, 'c', 63);
	*p = '\0';
	assert_true(email_valid(buf, strlen(buf)));
	p = fill(buf + 12, 'c', 64);
	*p = '\0';
	assert_false(email_valid(buf, strlen(buf)));

	/* 63 counted in bytes: 21 three-byte characters is 63 bytes. */
	strcpy(buf, "ann@");
	p = buf + 4;
	for (int i = 0; i < 21; i++) {
		memcpy(p, "\xe4\xbe\x8b", 3);
		p += 3;
	}
	strcpy(p, ".com");
	assert_true(email_valid(buf, strlen(buf)));
	memmove(buf + 5, buf + 4, strlen(buf + 4) + 1);
	buf[4] = 'x';
	assert_false(email_valid(buf, strlen(buf)));
}

static void test_email_nul(void **state)
{
	static const char with_nul[] = "ann\0lee@example.com";
	static const char nul_domain[] = "ann@exa\0mple.com";
	static const char nul_end[] = "ann@example.com\0";

	(void)state;
	assert_false(email_valid(with_nul, sizeof(with_nul) - 1));
	assert_false(email_valid(nul_domain, sizeof(nul_domain) - 1));
	assert_false(email_valid(nul_end, sizeof(nul_end) - 1));
	/* Only len bytes are read: a prefix of a longer buffer. */
	assert_true(email_valid("ann@example.com.junk", 15));
	assert_false(email_valid("ann@example.com", 0));
	assert_true(email_valid(nul_end, sizeof(nul_end) - 2));
}

static const struct {
	const char *in;
	const char *out;
} trim_cases[] = {
	{"", ""},
	{"a", "a"},
	{"  ann@example.com  ", "ann@example.com"},
	{"\t\r\n\f\vann@example.com\v\f\n\r\t ", "ann@example.com"},
	{"   ", ""},
	{"a b", "a b"},
	{" \xc2\xa0x\xc2\xa0 ", "\xc2\xa0x\xc2\xa0"}, /* NBSP is not ASCII space */
};

static void test_trim(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(trim_cases) / sizeof(trim_cases[0]); i++) {
		const char *in = trim_cases[i].in;
		size_t n;
		const char *t = str_trim(in, strlen(in), &n);

		assert_int_equal(n, strlen(trim_cases[i].out));
		assert_memory_equal(t, trim_cases[i].out, n);
		assert_true(t >= in && t + n <= in + strlen(in));
	}
}

static void test_trim_then_validate(void **state)
{
	const char *in = "  \tAnn.Lee@Example.com\r\n";
	size_t n;
	const char *t;

	(void)state;
	assert_false(email_valid(in, strlen(in)));
	t = str_trim(in, strlen(in), &n);
	assert_true(email_valid(t, n));
	assert_int_equal(n, strlen("Ann.Lee@Example.com"));
	/* NUL is not white space: it stays and makes the address invalid. */
	t = str_trim("ann@example.com\0", 16, &n);
	assert_int_equal(n, 16);
	assert_false(email_valid(t, n));
	/* NULL with length 0. */
	t = str_trim(NULL, 0, &n);
	assert_int_equal(n, 0);
}

static void test_fold(void **state)
{
	char out[64];
	static const char mixed[] = "Jos\xc3\x89.LEE@Ex\xc3\x84mple.COM"; /* É, Ä */
	static const char with_nul[] = "A\0B";

	(void)state;
	email_fold("Ann.Lee@Example.COM", 19, out);
	assert_string_equal(out, "ann.lee@example.com");

	/* Only ASCII letters change: É and Ä (and their UTF-8 bytes) stay. */
	email_fold(mixed, sizeof(mixed) - 1, out);
	assert_string_equal(out, "jos\xc3\x89.lee@ex\xc3\x84mple.com");

	email_fold("!#$%&'*+/=?^_`{|}~-09@[]", 24, out);
	assert_string_equal(out, "!#$%&'*+/=?^_`{|}~-09@[]");

	/* Exactly len bytes, then a NUL; NULs inside are kept. */
	memset(out, 'x', sizeof(out));
	email_fold(with_nul, 3, out);
	assert_memory_equal(out, "a\0b\0", 4);
	assert_int_equal(out[5], 'x');

	memset(out, 'x', sizeof(out));
	email_fold("ABC", 0, out);
	assert_int_equal(out[0], '\0');
	assert_int_equal(out[1], 'x');
}

static const struct {
	const char *s;
	size_t len; /* 0: strlen */
	bool valid;
	size_t chars;
} utf8_cases[] = {
	{"", 0, true, 0},
	{"abc", 0, true, 3},
	{"jos\xc3\xa9", 0, true, 4},
	{"\xe7\x94\xa8\xe6\x88\xb7", 0, true, 2},
	{"\xf0\x9f\x98\x80", 0, true, 1},
	{"\xc2\x80", 0, true, 1},                 /* U+0080 */
	{"\xdf\xbf", 0, true, 1},                 /* U+07FF */
	{"\xe0\xa0\x80", 0, true, 1},             /* U+0800 */
	{"\xed\x9f\xbf", 0, true, 1},             /* U+D7FF */
	{"\xee\x80\x80", 0, true, 1},             /* U+E000 */
	{"\xef\xbf\xbf", 0, true, 1},             /* U+FFFF */
	{"\xf0\x90\x80\x80", 0, true, 1},         /* U+10000 */
	{"\xf4\x8f\xbf\xbf", 0, true, 1},         /* U+10FFFF */
	{"a\0b", 3, true, 3},                     /* NUL is a code point */
	{"\x80", 0, false, 0},
	{"\xbf", 0, false, 0},
	{"\xc0\x80", 0, false, 0},                /* overlong NUL */
	{"\xc1\xbf", 0, false, 0},                /* overlong */
	{"\xe0\x9f\xbf", 0, false, 0},            /* overlong */
	{"\xf0\x8f\xbf\xbf", 0, false, 0},        /* overlong */
	{"\xed\xa0\x80", 0, false, 0},            /* U+D800 */
	{"\xed\xbf\xbf", 0, false, 0},            /* U+DFFF */
	{"\xf4\x90\x80\x80", 0, false, 0},        /* U+110000 */
	{"\xf5\x80\x80\x80", 0, false, 0},
	{"\xff", 0, false, 0},
	{"\xfe", 0, false, 0},
	{"\xc3", 0, false, 0},                    /* truncated */
	{"\xe4\xbe", 0, false, 0},                /* truncated */
	{"\xf0\x9f\x98", 0, false, 0},            /* truncated */
	{"\xc3\x28", 0, false, 0},                /* bad continuation */
	{"\xe4\x28\x8b", 0, false, 0},
	{"\xf0\x9f\x28\x80", 0, false, 0},
	{"\xf0\x9f\x98\x28", 0, false, 0},
	{"a\xc3\xa9\xa9", 0, false, 0},           /* stray continuation */
};

static void test_utf8(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(utf8_cases) / sizeof(utf8_cases[0]); i++) {
		const char *s = utf8_cases[i].s;
		size_t len = utf8_cases[i].len ? utf8_cases[i].len : strlen(s);

		if (utf8_valid(s, len) != utf8_cases[i].valid)
			print_error("utf8 case %zu\n", i);
		assert_int_equal(utf8_valid(s, len), utf8_cases[i].valid);
		if (utf8_cases[i].valid)
			assert_int_equal(utf8_length(s, len), utf8_cases[i].chars);
		else
			(void)utf8_length(s, len); /* no crash on bad input */
	}
	/* A truncated sequence is noticed even when the buffer goes on. */
	assert_false(utf8_valid("\xc3\xa9", 1));
	assert_false(utf8_valid("\xf0\x9f\x98\x80", 3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_email_table),
		cmocka_unit_test(test_email_local_length),
		cmocka_unit_test(test_email_total_length),
		cmocka_unit_test(test_email_label_length),
		cmocka_unit_test(test_email_nul),
		cmocka_unit_test(test_trim),
		cmocka_unit_test(test_trim_then_validate),
		cmocka_unit_test(test_fold),
		cmocka_unit_test(test_utf8),
	};

	return cmocka_run_group_tests_name("validate", tests, NULL, NULL);
}
