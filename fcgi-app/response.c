/* response.c - the answer: one place maps API errors to statuses. */
#include "response.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "codec.h"

void response_init(struct response *r)
{
	r->status = 500;
	r->content_type = "application/json";
	buf_init(&r->headers);
	buf_init(&r->body);
}

void response_cleanup(struct response *r)
{
	if (!r)
		return;
	buf_cleanup(&r->headers);
	buf_cleanup(&r->body);
}

void response_reset(struct response *r)
{
	r->status = 500;
	r->content_type = "application/json";
	buf_reset(&r->headers);
	buf_reset(&r->body);
}

void response_header(struct response *r, const char *name, const char *fmt, ...)
{
	va_list ap;

	buf_puts(&r->headers, name);
	buf_append(&r->headers, ": ", 2);
	va_start(ap, fmt);
	buf_vprintf(&r->headers, fmt, ap);
	va_end(ap);
	buf_append(&r->headers, "\r\n", 2);
}

void response_json(struct response *r, int status)
{
	r->status = status;
}

void response_error(struct response *r, const struct apierr *e)
{
	buf_reset(&r->body);
	codec_error(&r->body, e);
	r->content_type = "application/json";
	r->status = api_error_status(e->kind);
	switch (e->kind) {
	case API_UNAUTHORIZED:
		response_header(r, "WWW-Authenticate", "Bearer");
		break;
	case API_UNAVAILABLE:
		response_header(r, "Retry-After", "1");
		break;
	default:
		break;
	}
}

void response_fail(struct response *r, enum api_error kind, const char *field,
		   const char *fmt, ...)
{
	struct apierr e;
	char message[APIERR_MESSAGE_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	apierr_set(&e, kind, field, "%s", message);
	response_error(r, &e);
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

static void serialize_head(const struct response *r, struct buf *out)
{
	buf_printf(out, "Status: %d %s\r\n", r->status, reason(r->status));
	if (r->headers.len)
		buf_append(out, r->headers.data, r->headers.len);
	buf_printf(out, "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n",
		   r->content_type, r->body.len);
}

void response_serialize(const struct response *r, struct buf *out)
{
	buf_reset(out);
	serialize_head(r, out);
	if (r->body.len)
		buf_append(out, r->body.data, r->body.len);
}

int response_send(const struct response *r, struct buf *scratch, FCGX_Stream *out)
{
	/* The head goes through scratch; the body (up to a few hundred KiB for
	 * a page) is written from where it is, without a copy. */
	buf_reset(scratch);
	serialize_head(r, scratch);
	if (FCGX_PutStr(scratch->data, (int)scratch->len, out) < 0)
		return -1;
	if (r->body.len && FCGX_PutStr(r->body.data, (int)r->body.len, out) < 0)
		return -1;
	return 0;
}
