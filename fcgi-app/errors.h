/* errors.h - the API's error kinds, carried from where a request is refused
 * to response.c, the one place that turns them into a status and a body. */
#ifndef CONTACTS_ERRORS_H
#define CONTACTS_ERRORS_H

enum api_error {
	API_OK = 0,
	API_INVALID_JSON,           /* 400 */
	API_INVALID_PARAMETER,      /* 400 */
	API_UNAUTHORIZED,           /* 401 */
	API_NOT_FOUND,              /* 404 */
	API_METHOD_NOT_ALLOWED,     /* 405 */
	API_EMAIL_TAKEN,            /* 409 */
	API_SUPPRESSED,             /* 409 */
	API_FIELD_EXISTS,           /* 409 */
	API_IDEMPOTENCY_IN_PROGRESS, /* 409 */
	API_CURSOR_EXPIRED,         /* 410 */
	API_PAYLOAD_TOO_LARGE,      /* 413 */
	API_UNSUPPORTED_MEDIA_TYPE, /* 415 */
	API_INVALID_FIELD,          /* 422 */
	API_MISSING_FIELD,          /* 422 */
	API_UNKNOWN_FIELD,          /* 422 */
	API_UNKNOWN_LIST,           /* 422 */
	API_IDEMPOTENCY_MISMATCH,   /* 422 */
	API_RATE_LIMITED,           /* 429 */
	API_INTERNAL,               /* 500 */
	API_UNAVAILABLE,            /* 503 */
};

#define APIERR_FIELD_LEN 256 /* a request's key named in full (fields.<64>, unknown keys) */
#define APIERR_MESSAGE_LEN 512

/* Caller storage: what went wrong with a request, set by apierr_set(). */
struct apierr {
	enum api_error kind;
	char field[APIERR_FIELD_LEN];     /* "" when no one field is at fault */
	char message[APIERR_MESSAGE_LEN]; /* for the client: no SQL, no paths */
};

/* Sets every member; field may be NULL.  Returns -1 so that a decoder can
 * `return apierr_set(...)`. */
int apierr_set(struct apierr *e, enum api_error kind, const char *field,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

int api_error_status(enum api_error kind);
const char *api_error_code(enum api_error kind);

#endif
