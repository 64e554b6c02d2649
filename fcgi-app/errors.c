/* errors.c - error kinds to statuses and codes: the one table of them. */
#include "errors.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
	int status;
	const char *code;
} table[] = {
	[API_OK] = {200, "ok"},
	[API_INVALID_JSON] = {400, "invalid_json"},
	[API_INVALID_PARAMETER] = {400, "invalid_parameter"},
	[API_UNAUTHORIZED] = {401, "unauthorized"},
	[API_NOT_FOUND] = {404, "not_found"},
	[API_METHOD_NOT_ALLOWED] = {405, "method_not_allowed"},
	[API_EMAIL_TAKEN] = {409, "email_taken"},
	[API_SUPPRESSED] = {409, "suppressed"},
	[API_FIELD_EXISTS] = {409, "field_exists"},
	[API_IDEMPOTENCY_IN_PROGRESS] = {409, "idempotency_in_progress"},
	[API_CURSOR_EXPIRED] = {410, "cursor_expired"},
	[API_PAYLOAD_TOO_LARGE] = {413, "payload_too_large"},
	[API_UNSUPPORTED_MEDIA_TYPE] = {415, "unsupported_media_type"},
	[API_INVALID_FIELD] = {422, "invalid_field"},
	[API_MISSING_FIELD] = {422, "missing_field"},
	[API_UNKNOWN_FIELD] = {422, "unknown_field"},
	[API_UNKNOWN_LIST] = {422, "unknown_list"},
	[API_IDEMPOTENCY_MISMATCH] = {422, "idempotency_mismatch"},
	[API_RATE_LIMITED] = {429, "rate_limited"},
	[API_INTERNAL] = {500, "internal"},
	[API_UNAVAILABLE] = {503, "unavailable"},
};

/* Drops a UTF-8 sequence that truncation cut in half at the end of s. */
static void trim_partial_utf8(char *s)
{
	size_t n = strlen(s), lead = n;

	while (lead > 0 && ((unsigned char)s[lead - 1] & 0xC0) == 0x80)
		lead--;
	if (lead == 0 || (unsigned char)s[lead - 1] < 0xC0)
		return; /* ends in ASCII (or is not UTF-8 at all) */
	{
		unsigned char c = (unsigned char)s[lead - 1];
		size_t want = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;

		if (n - (lead - 1) < want)
			s[lead - 1] = '\0';
	}
}

int apierr_set(struct apierr *e, enum api_error kind, const char *field,
	       const char *fmt, ...)
{
	va_list ap;

	e->kind = kind;
	snprintf(e->field, sizeof(e->field), "%s", field ? field : "");
	trim_partial_utf8(e->field);
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	trim_partial_utf8(e->message);
	return -1;
}

int api_error_status(enum api_error kind)
{
	return table[kind].status;
}

const char *api_error_code(enum api_error kind)
{
	return table[kind].code;
}
