/* log.h - levelled logging to stderr, one logfmt line per event.
 *
 * The level is the one piece of process-wide state outside the worker
 * context: it is set once from the configuration before the workers start
 * (and again in a worker that a reload starts).  Messages below the level
 * are not even formatted.  Never log personal data (emails, names, keys) at
 * info level or above.
 */
#ifndef CONTACTS_LOG_H
#define CONTACTS_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_ERROR = 0,
	LOG_WARN = 1,
	LOG_INFO = 2,
	LOG_DEBUG = 3,
};

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "error", "warn", "info" or "debug"; returns -1 on anything else. */
int log_level_parse(const char *s, enum log_level *out)
	__attribute__((warn_unused_result));

/* Writes one line: ts, level, pid, request id (NULL for none), message. */
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
