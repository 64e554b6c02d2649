/* errors.c - error kinds to statuses and codes: the one table of them. */
#include "errors.h"

#include <stdarg.h>
#include <stdio.h>

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
	[API_PAYLOAD_TOO_LARGE] = {413, "payload_too_large"},
	[API_UNSUPPORTED_MEDIA_TYPE] = {415, "unsupported_media_type"},
	[API_INVALID_FIELD] = {422, "invalid_field"},
	[API_MISSING_FIELD] = {422, "missing_field"},
	[API_UNKNOWN_FIELD] = {422, "unknown_field"},
	[API_UNKNOWN_LIST] = {422, "unknown_list"},
	[API_RATE_LIMITED] = {429, "rate_limited"},
	[API_INTERNAL] = {500, "internal"},
	[API_UNAVAILABLE] = {503, "unavailable"},
};

int apierr_set(struct apierr *e, enum api_error kind, const char *field,
	       const char *fmt, ...)
{
	va_list ap;

	e->kind = kind;
	snprintf(e->field, sizeof(e->field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
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
