/* test_log.c - logfmt values (LOGQ), the journal's priority prefix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static const struct {
	const char *in;
	size_t len; /* 0: strlen(in) */
	const char *out;
} quote_cases[] = {
	{"", 0, "\"\""},
	{"plain", 0, "\"plain\""},
	{"with space", 0, "\"with space\""},
	{"run.conf:5: unknown setting \"wrokers\"", 0,
	 "\"run.conf:5: unknown setting \\\"wrokers\\\"\""},
	{"back\\slash", 0, "\"back\\\\slash\""},
	{"a\nb\rc\td", 0, "\"a\\nb\\rc\\td\""},
	{"bell\a esc\x1b del\x7f", 0, "\"bell\\x07 esc\\x1b del\\x7f\""},
	{"nul\0inside", 10, "\"nul\\x00inside\""},
	{"key=value x=\"y\"", 0, "\"key=value x=\\\"y\\\"\""},
	/* well-formed UTF-8 is kept, anything else escaped */
	{"Zo\xc3\xab \xe2\x82\xac \xf0\x9f\x98\x80", 0,
	 "\"Zo\xc3\xab \xe2\x82\xac \xf0\x9f\x98\x80\""},
	{"bad \xff \xc3 end", 0, "\"bad \\xff \\xc3 end\""},
	{"overlong \xc0\xae", 0, "\"overlong \\xc0\\xae\""},
	{"surrogate \xed\xa0\x80", 0, "\"surrogate \\xed\\xa0\\x80\""},
	{"cut \xe2\x82", 0, "\"cut \\xe2\\x82\""},
};

static void test_quote_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(quote_cases) / sizeof(quote_cases[0]); i++) {
		char out[LOG_VALUE_MAX];
		size_t len = quote_cases[i].len ? quote_cases[i].len
						: strlen(quote_cases[i].in);

		log_quote_n(out, sizeof(out), quote_cases[i].in, len);
		assert_string_equal(out, quote_cases[i].out);
	}
}

static void test_quote_null_and_macro(void **state)
{
	char out[16];

	(void)state;
	assert_string_equal(log_quote(out, sizeof(out), NULL), "\"\"");
	assert_string_equal(LOGQ("a \"b\""), "\"a \\\"b\\\"\"");
	assert_string_equal(LOGQ(NULL), "\"\"");
}

/* A value too long for the buffer is cut at a whole character or escape,
 * marked with "...", and always closed. */
static void test_quote_cut(void **state)
{
	char big[3000], out[LOG_VALUE_MAX], small[12];
	size_t n;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_quote(out, sizeof(out), big);
	n = strlen(out);
	assert_true(n < sizeof(out));
	assert_int_equal(out[0], '"');
	assert_string_equal(out + n - 4, "...\"");

	/* 12 bytes: quote, 6 bytes of value, "...", quote, NUL */
	log_quote(small, sizeof(small), "abcdefghijk");
	assert_string_equal(small, "\"abcdef...\"");
	/* an escape is never split */
	log_quote(small, sizeof(small), "abcde\"fg");
	assert_string_equal(small, "\"abcde...\"");
	/* nor is a character */
	log_quote(small, sizeof(small), "abcd\xe2\x82\xac");
	assert_string_equal(small, "\"abcd...\"");
	/* what fits is not cut */
	log_quote(small, sizeof(small), "abcdef");
	assert_string_equal(small, "\"abcdef\"");
}

/* Whatever the bytes, the value is one token: it starts and ends with a
 * quote, and every quote or backslash inside is escaped. */
static void test_quote_any_bytes(void **state)
{
	unsigned char in[256];
	char out[LOG_VALUE_MAX * 2];
	size_t n;

	(void)state;
	for (int i = 0; i < 256; i++)
		in[i] = (unsigned char)i;
	log_quote_n(out, sizeof(out), (const char *)in, sizeof(in));
	n = strlen(out);
	assert_int_equal(out[0], '"');
	assert_int_equal(out[n - 1], '"');
	for (size_t i = 1; i < n - 1; i++) {
		unsigned char c = (unsigned char)out[i];

		assert_true(c >= 0x20 && c != 0x7f);
		assert_true(c < 0x80); /* 0x80-0xff alone are not UTF-8 */
		if (c == '\\') {
			assert_non_null(strchr("\"\\nrtx", out[i + 1]));
			i++;
		} else {
			assert_true(c != '"');
		}
	}
}

static void test_journal_stream(void **state)
{
	char path[] = "/tmp/test_log_XXXXXX", env[64];
	struct stat st;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	snprintf(env, sizeof(env), "%ju:%ju", (uintmax_t)st.st_dev,
		 (uintmax_t)st.st_ino);
	assert_true(log_fd_is_journal(env, fd));
	assert_false(log_fd_is_journal(NULL, fd));
	assert_false(log_fd_is_journal("", fd));
	assert_false(log_fd_is_journal("12", fd));
	assert_false(log_fd_is_journal("1:2:3", fd));
	snprintf(env, sizeof(env), "%ju:%ju", (uintmax_t)st.st_dev,
		 (uintmax_t)st.st_ino + 1);
	assert_false(log_fd_is_journal(env, fd));
	snprintf(env, sizeof(env), "%ju:%jux", (uintmax_t)st.st_dev,
		 (uintmax_t)st.st_ino);
	assert_false(log_fd_is_journal(env, fd));
	close(fd);
	unlink(path);
}

/* The line itself, written to a file that stands in for stderr: plain, and
 * with the syslog priority once JOURNAL_STREAM names it. */
static void read_line(int fd, char *out, size_t size)
{
	ssize_t n;

	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	n = read(fd, out, size - 1);
	assert_true(n > 0);
	out[n] = '\0';
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
}

static void test_priority_prefix(void **state)
{
	char path[] = "/tmp/test_log_XXXXXX", env[64], line[8192];
	struct stat st;
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);

	(void)state;
	assert_true(fd >= 0 && saved >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	log_set_level(LOG_DEBUG);

	unsetenv("JOURNAL_STREAM");
	log_init();
	log_error("msg=%s", LOGQ("a \"quoted\" value"));
	read_line(fd, line, sizeof(line));
	assert_memory_equal(line, "ts=", 3);
	assert_non_null(strstr(line, " level=error "));
	assert_non_null(strstr(line, " msg=\"a \\\"quoted\\\" value\"\n"));

	snprintf(env, sizeof(env), "%ju:%ju", (uintmax_t)st.st_dev,
		 (uintmax_t)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	log_init();
	log_error("msg=\"e\"");
	read_line(fd, line, sizeof(line));
	assert_memory_equal(line, "<3>ts=", 6);
	log_warn("msg=\"w\"");
	read_line(fd, line, sizeof(line));
	assert_memory_equal(line, "<4>ts=", 6);
	log_info("msg=\"i\"");
	read_line(fd, line, sizeof(line));
	assert_memory_equal(line, "<6>ts=", 6);
	log_debug("msg=\"d\"");
	read_line(fd, line, sizeof(line));
	assert_memory_equal(line, "<7>ts=", 6);
	/* the request id, quoted; the whole line stays one line */
	rlog_info("abc-1.2_3", "msg=%s", LOGQ("two\nlines"));
	read_line(fd, line, sizeof(line));
	assert_non_null(strstr(line, " request_id=\"abc-1.2_3\" msg=\"two\\nlines\"\n"));
	assert_ptr_equal(strchr(line, '\n'), line + strlen(line) - 1);

	unsetenv("JOURNAL_STREAM");
	log_init();
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	close(fd);
	unlink(path);
}

static void test_level_names(void **state)
{
	enum log_level l;

	(void)state;
	assert_string_equal(log_level_name(LOG_ERROR), "error");
	assert_string_equal(log_level_name(LOG_DEBUG), "debug");
	assert_int_equal(log_level_parse("warn", &l), 0);
	assert_int_equal(l, LOG_WARN);
	assert_int_equal(log_level_parse("warning", &l), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quote_table),
		cmocka_unit_test(test_quote_null_and_macro),
		cmocka_unit_test(test_quote_cut),
		cmocka_unit_test(test_quote_any_bytes),
		cmocka_unit_test(test_journal_stream),
		cmocka_unit_test(test_priority_prefix),
		cmocka_unit_test(test_level_names),
	};

	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
