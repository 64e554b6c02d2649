/* log.h - levelled logging to stderr, one logfmt line per event.
 *
 * The level and the journal flag are the process-wide state outside the
 * worker context: set once before the workers start (log_init(),
 * log_set_level(); the level again in a worker that a reload starts).
 * Messages below the level are not even formatted.  Never log personal
 * data (emails, names, keys) at info level or above.
 *
 * Values: every string that is not a literal of the format goes through
 * LOGQ(), which quotes and escapes it, so that a line always parses as
 * key=value pairs whatever the value holds:
 *
 *     log_warn("msg=\"cannot write the pid file\" path=%s", LOGQ(path));
 *
 * Numbers, and identifiers of a fixed alphabet checked where they come in
 * (organization and key ids, error codes), are written bare.
 */
#ifndef CONTACTS_LOG_H
#define CONTACTS_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level {
	LOG_ERROR = 0,
	LOG_WARN = 1,
	LOG_INFO = 2,
	LOG_DEBUG = 3,
};

/* Where stderr goes: when it is the journal (sd-daemon: $JOURNAL_STREAM
 * names stderr's device and inode), every line starts with its syslog
 * priority, <3> error, <4> warn, <6> info, <7> debug, which journald
 * records as the line's PRIORITY; elsewhere lines are plain. */
void log_init(void);
/* The test behind log_init(): does journal_stream ("dev:ino", decimal, as
 * systemd sets it; NULL when unset) name the file open on fd? */
bool log_fd_is_journal(const char *journal_stream, int fd);

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "error", "warn", "info" or "debug"; returns -1 on anything else. */
int log_level_parse(const char *s, enum log_level *out)
	__attribute__((warn_unused_result));
/* The name of a level, "error" .. "debug". */
const char *log_level_name(enum log_level level);

/* The longest value LOGQ() writes, quotes and terminating NUL included. */
#define LOG_VALUE_MAX 1024

/* Writes s[0..len) to dst (size >= 8 bytes) as one logfmt value: in double
 * quotes, with " and \ escaped as \" and \\, newline, carriage return and
 * tab as \n \r \t, other control bytes, DEL and bytes that are not part of
 * well-formed UTF-8 as \xHH.  A value too long for dst is cut at a whole
 * character and ends in "..." before the closing quote.  s may be NULL
 * (written as "").  Returns dst. */
const char *log_quote_n(char *dst, size_t size, const char *s, size_t len);
/* The same for a NUL-terminated s (or NULL). */
const char *log_quote(char *dst, size_t size, const char *s);

/* s quoted, in a buffer that lives until the end of the enclosing block:
 * for the arguments of a log call. */
#define LOGQ(s) log_quote((char[LOG_VALUE_MAX]){0}, LOG_VALUE_MAX, (s))

/* Writes one line: [<priority>] ts, level, pid, request id (NULL for none),
 * then the message. */
void log_write(enum log_level level, const char *request_id, const char *fmt,
	       ...) __attribute__((format(printf, 3, 4)));

#define log_at(level, rid, ...)                                   \
	do {                                                      \
		if ((level) <= log_get_level())                   \
			log_write((level), (rid), __VA_ARGS__);   \
	} while (0)

#define log_error(...) log_at(LOG_ERROR, NULL, __VA_ARGS__)
#define log_warn(...) log_at(LOG_WARN, NULL, __VA_ARGS__)
#define log_info(...) log_at(LOG_INFO, NULL, __VA_ARGS__)
#define log_debug(...) log_at(LOG_DEBUG, NULL, __VA_ARGS__)

/* Request-scoped variants: the line carries the request id. */
#define rlog_error(rid, ...) log_at(LOG_ERROR, (rid), __VA_ARGS__)
#define rlog_warn(rid, ...) log_at(LOG_WARN, (rid), __VA_ARGS__)
#define rlog_info(rid, ...) log_at(LOG_INFO, (rid), __VA_ARGS__)
#define rlog_debug(rid, ...) log_at(LOG_DEBUG, (rid), __VA_ARGS__)

#endif
