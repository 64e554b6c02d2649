/* response.c - the answer: one place maps API errors to statuses. */
#include "response.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

#include "codec.h"

void response_init(struct response *r)
{
	r->status = 500;
	r->content_type = "application/json";
	r->error_code = NULL;
	r->head_only = false;
	r->etag[0] = '\0';
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
	r->error_code = NULL;
	r->head_only = false;
	r->etag[0] = '\0';
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

void response_empty(struct response *r, int status)
{
	buf_reset(&r->body);
	r->content_type = NULL;
	r->status = status;
}

void response_created(struct response *r, const char *collection,
		      const char *id)
{
	static const char hex[] = "0123456789ABCDEF";

	buf_puts(&r->headers, "Location: ");
	buf_puts(&r->headers, collection);
	buf_putc(&r->headers, '/');
	for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p)) {
			buf_putc(&r->headers, (char)*p);
		} else {
			buf_putc(&r->headers, '%');
			buf_putc(&r->headers, hex[*p >> 4]);
			buf_putc(&r->headers, hex[*p & 15]);
		}
	}
	buf_append(&r->headers, "\r\n", 2);
	r->status = 201;
}

void response_conditional(struct response *r, const char *if_none_match)
{
	if (r->status != 200)
		return;
	if (!r->etag[0])
		etag_of(r->body.data ? r->body.data : "", r->body.len, r->etag);
	if (if_none_match && etag_matches(if_none_match, r->etag)) {
		buf_reset(&r->body);
		r->content_type = NULL;
		r->status = 304;
	}
}

void response_error(struct response *r, const struct apierr *e)
{
	buf_reset(&r->body);
	codec_error(&r->body, e);
	r->content_type = "application/json";
	r->status = api_error_status(e->kind);
	r->error_code = api_error_code(e->kind);
	switch (e->kind) {
	case API_UNAUTHORIZED:
		response_header(r, "WWW-Authenticate", "Bearer");
		break;
	case API_UNAVAILABLE:
	case API_IDEMPOTENCY_IN_PROGRESS:
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
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 410: return "Gone";
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
	if (r->etag[0])
		buf_printf(out, "ETag: \"%s\"\r\n", r->etag);
	if (r->content_type)
		buf_printf(out, "Content-Type: %s\r\n", r->content_type);
	/* 204 and 304 have no body, and say nothing of its length here. */
	if (r->status != 204 && r->status != 304)
		buf_printf(out, "Content-Length: %zu\r\n", r->body.len);
	buf_append(out, "\r\n", 2);
}

void response_serialize(const struct response *r, struct buf *out)
{
	buf_reset(out);
	serialize_head(r, out);
	if (r->body.len)
		buf_append(out, r->body.data, r->body.len);
}

/* FastCGI framing for a large answer (FastCGI 1.0, section 3.3). */
#define FCGI_VERSION_1 1
#define FCGI_STDOUT 6
#define RECORD_MAX 65528 /* the most content in a record, a multiple of 8 */
#define SMALL_ANSWER 8000 /* fits libfcgi's 8 KiB stream buffer */

static void record_header(unsigned char h[8], int request_id, size_t len)
{
	h[0] = FCGI_VERSION_1;
	h[1] = FCGI_STDOUT;
	h[2] = (unsigned char)((request_id >> 8) & 0xff);
	h[3] = (unsigned char)(request_id & 0xff);
	h[4] = (unsigned char)((len >> 8) & 0xff);
	h[5] = (unsigned char)(len & 0xff);
	h[6] = 0; /* no padding */
	h[7] = 0;
}

/* The answer as STDOUT records of up to 64 KiB, in one writev() where the
 * socket takes it: libfcgi's stream would cut it into 8 KiB records and
 * write each one by itself.  The stream must be untouched; libfcgi still
 * writes the closing records when the request is finished. */
static int send_records(const struct buf *head, const struct buf *body,
			FCGX_Request *fr)
{
	enum { MAX_RECORDS = REQUEST_ANSWER_MAX / RECORD_MAX + 2 };
	unsigned char hdr[MAX_RECORDS][8];
	struct iovec iov[MAX_RECORDS * 3];
	const char *parts[2] = {head->data, body->data};
	size_t left[2] = {head->len, body->len};
	int n = 0, records = 0, p = 0;

	while (left[0] + left[1] > 0) {
		size_t room = RECORD_MAX, len = 0;
		int first = n++;

		if (records == MAX_RECORDS)
			return -1;
		while (room > 0 && p < 2) {
			size_t take = left[p] < room ? left[p] : room;

			if (take) {
				iov[n].iov_base = (void *)parts[p];
				iov[n].iov_len = take;
				n++;
				parts[p] += take;
				left[p] -= take;
				room -= take;
				len += take;
			}
			if (left[p] == 0)
				p++;
		}
		record_header(hdr[records], fr->requestId, len);
		iov[first].iov_base = hdr[records];
		iov[first].iov_len = 8;
		records++;
	}
	return buf_writev_all(fr->ipcFd, iov, n);
}

int response_send(const struct response *r, struct buf *scratch, FCGX_Request *fr)
{
	/* The head goes through scratch; the body (up to a few hundred KiB for
	 * a page) is written from where it is, without a copy. */
	buf_reset(scratch);
	serialize_head(r, scratch);
	if (r->head_only)
		return FCGX_PutStr(scratch->data, (int)scratch->len, fr->out) < 0 ? -1 : 0;
	if (scratch->len + r->body.len > SMALL_ANSWER &&
	    scratch->len + r->body.len <= REQUEST_ANSWER_MAX)
		return send_records(scratch, &r->body, fr);
	/* A small answer goes out with libfcgi's closing records, in one
	 * write when the request is finished. */
	if (FCGX_PutStr(scratch->data, (int)scratch->len, fr->out) < 0)
		return -1;
	if (r->body.len && FCGX_PutStr(r->body.data, (int)r->body.len, fr->out) < 0)
		return -1;
	return 0;
}
