/* log.c - levelled logfmt lines on stderr. */
#include "log.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "validate.h"

static enum log_level current_level = LOG_INFO;
static bool to_journal;

static const char *const level_names[] = {"error", "warn", "info", "debug"};
/* syslog(3) priorities: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG. */
static const int level_priorities[] = {3, 4, 6, 7};

bool log_fd_is_journal(const char *journal_stream, int fd)
{
	uintmax_t dev, ino;
	struct stat st;
	int used = 0;

	if (!journal_stream ||
	    sscanf(journal_stream, "%ju:%ju%n", &dev, &ino, &used) != 2 ||
	    journal_stream[used] != '\0')
		return false;
	if (fstat(fd, &st) < 0)
		return false;
	return (uintmax_t)st.st_dev == dev && (uintmax_t)st.st_ino == ino;
}

void log_init(void)
{
	to_journal = log_fd_is_journal(getenv("JOURNAL_STREAM"), STDERR_FILENO);
}

void log_set_level(enum log_level level)
{
	current_level = level;
}

enum log_level log_get_level(void)
{
	return current_level;
}

int log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

const char *log_level_name(enum log_level level)
{
	if ((size_t)level >= sizeof(level_names) / sizeof(level_names[0]))
		return "unknown";
	return level_names[level];
}

/* The bytes of a well-formed UTF-8 character at s[0..n), or 0. */
static size_t utf8_char(const unsigned char *s, size_t n)
{
	size_t want = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 0;

	return want && want <= n && utf8_valid((const char *)s, want) ? want : 0;
}

const char *log_quote_n(char *dst, size_t size, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	/* Room kept at the end for "...", the closing quote and the NUL. */
	size_t limit = size - 5, w = 0, i = 0;
	const unsigned char *p = (const unsigned char *)s;

	dst[w++] = '"';
	while (s && i < len) {
		char piece[4];
		size_t n = 0, take = 1;
		unsigned char c = p[i];

		switch (c) {
		case '"':
		case '\\':
			piece[n++] = '\\';
			piece[n++] = (char)c;
			break;
		case '\n':
			piece[n++] = '\\';
			piece[n++] = 'n';
			break;
		case '\r':
			piece[n++] = '\\';
			piece[n++] = 'r';
			break;
		case '\t':
			piece[n++] = '\\';
			piece[n++] = 't';
			break;
		default:
			if (c >= 0x80)
				take = utf8_char(p + i, len - i);
			if (c < 0x20 || c == 0x7f || take == 0) {
				piece[n++] = '\\';
				piece[n++] = 'x';
				piece[n++] = hex[c >> 4];
				piece[n++] = hex[c & 15];
				take = 1;
			}
			break;
		}
		if (w + (n ? n : take) > limit) {
			memcpy(dst + w, "...", 3);
			w += 3;
			break;
		}
		if (n) {
			memcpy(dst + w, piece, n);
			w += n;
		} else {
			memcpy(dst + w, p + i, take);
			w += take;
		}
		i += take;
	}
	dst[w++] = '"';
	dst[w] = '\0';
	return dst;
}

const char *log_quote(char *dst, size_t size, const char *s)
{
	return log_quote_n(dst, size, s, s ? strlen(s) : 0);
}

void log_write(enum log_level level, const char *request_id, const char *fmt,
	       ...)
{
	char line[4096];
	struct timeval tv;
	struct tm tm;
	size_t n = 0;
	int r;
	va_list ap;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	if (to_journal)
		n = (size_t)snprintf(line, sizeof(line), "<%d>",
				     level_priorities[level]);
	r = snprintf(line + n, sizeof(line) - n,
		     "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03dZ level=%s pid=%d ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		     tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000),
		     level_names[level], (int)getpid());
	n += r > 0 ? (size_t)r : 0;
	if (request_id && *request_id && n < sizeof(line)) {
		r = snprintf(line + n, sizeof(line) - n, "request_id=%s ",
			     LOGQ(request_id));
		n += r > 0 ? (size_t)r : 0;
	}
	if (n < sizeof(line)) {
		va_start(ap, fmt);
		r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		va_end(ap);
		n += r > 0 ? (size_t)r : 0;
	}
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* One write() per line so that lines of different workers never mix
	 * (a file opened O_APPEND, the journal's stream socket). */
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}
