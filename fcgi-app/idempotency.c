/* idempotency.c - Idempotency-Key (see idempotency.h). */
#include "idempotency.h"

#include <stdio.h>
#include <string.h>

#include "fault.h"
#include "log.h"
#include "sha256.h"
#include "writes.h"

#define IDEM_KEY_MAX 255

bool idem_key_valid(const char *key)
{
	size_t n = strlen(key);

	if (n == 0 || n > IDEM_KEY_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)key[i] < 0x20 || (unsigned char)key[i] > 0x7e)
			return false;
	return true;
}

/* sha256 of what makes a request the same one: method, path, query, body,
 * as "\x<hex>" (bytea input). */
static void request_hash(const struct request *req, char out[2 + 2 * SHA256_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	const char *part[4] = {req->method, req->path, req->query,
			       req->body.data ? req->body.data : ""};
	size_t len[4] = {strlen(req->method), strlen(req->path), strlen(req->query),
			 req->body.len};
	uint8_t parts[4 * SHA256_LEN], h[SHA256_LEN];

	/* The hash of the parts' hashes: no two requests run together. */
	for (int i = 0; i < 4; i++)
		sha256(part[i], len[i], parts + i * SHA256_LEN);
	sha256(parts, sizeof(parts), h);
	out[0] = '\\';
	out[1] = 'x';
	for (size_t i = 0; i < SHA256_LEN; i++) {
		out[2 + 2 * i] = hex[h[i] >> 4];
		out[3 + 2 * i] = hex[h[i] & 15];
	}
	out[2 + 2 * SHA256_LEN] = '\0';
}

static void replay(struct response *res, const struct idem_answer *a)
{
	buf_reset(&res->body);
	buf_puts(&res->body, a->body ? a->body : "");
	res->status = a->status;
	res->content_type = res->body.len ? "application/json" : NULL;
	if (a->location)
		response_header(res, "Location", "%s", a->location);
	response_header(res, "Idempotent-Replayed", "true");
}

enum idem_result idem_begin(struct app *app, const struct request *req,
			    const struct principal *who, struct response *res)
{
	struct idem_answer a;
	enum store_status st;

	app->idem_key = NULL;
	app->deferred_note = 0;
	if (!req->idempotency_key)
		return IDEM_RUN;
	if (!idem_key_valid(req->idempotency_key)) {
		response_fail(res, API_INVALID_PARAMETER, "Idempotency-Key",
			      "Idempotency-Key must be 1 to 255 printable ASCII characters");
		return IDEM_ANSWERED;
	}
	request_hash(req, app->idem_hash);
	st = store_idem_begin(app->store, who->key.org_id, req->idempotency_key,
			      app->idem_hash, &a);
	if (st != STORE_OK) {
		store_rollback(app->store);
		response_fail(res, st == STORE_UNAVAILABLE ? API_UNAVAILABLE : API_INTERNAL,
			      NULL, st == STORE_UNAVAILABLE
					    ? "the database is unavailable, try again shortly"
					    : "internal error");
		return IDEM_ANSWERED;
	}
	switch (a.state) {
	case IDEM_NEW:
		app->idem_key = req->idempotency_key;
		store_rows_free(a.rows);
		return IDEM_RUN;
	case IDEM_REPLAY:
		replay(res, &a);
		if (a.status >= 200 && a.status < 300) {
			store_rows_free(a.rows);
			a.rows = NULL;
			store_rollback(app->store);
			if (writes_replayed(app, who->key.org_id) < 0) {
				buf_reset(&res->headers);
				response_fail(res, API_UNAVAILABLE, NULL,
					      "the change was saved but could not be published yet, try again shortly");
			}
			return IDEM_ANSWERED;
		}
		break;
	case IDEM_MISMATCH:
		response_fail(res, API_IDEMPOTENCY_MISMATCH, NULL,
			      "this Idempotency-Key was used for another request (method, path or body)");
		break;
	case IDEM_BUSY:
		response_fail(res, API_IDEMPOTENCY_IN_PROGRESS, NULL,
			      "a request with this Idempotency-Key is still running; retry shortly");
		break;
	}
	store_rows_free(a.rows);
	store_rollback(app->store);
	return IDEM_ANSWERED;
}

/* The Location header the handler set, if any, into out. */
static const char *location_of(const struct response *res, char *out, size_t n)
{
	const char *p = res->headers.data ? strstr(res->headers.data, "Location: ") : NULL;
	size_t len;

	if (!p)
		return NULL;
	p += strlen("Location: ");
	len = strcspn(p, "\r\n");
	if (len >= n)
		return NULL;
	memcpy(out, p, len);
	out[len] = '\0';
	return out;
}

void idem_end(struct app *app, const struct request *req,
	      const struct principal *who, struct response *res)
{
	char location[512];
	uint64_t note = app->deferred_note;
	enum store_status st;

	if (!app->idem_key)
		return;
	app->idem_key = NULL;
	app->deferred_note = 0;
	if (res->status >= 500) {
		/* Nothing of it is kept: a retry with the key runs again. */
		store_rollback(app->store);
		if (note)
			writes_abandon(app, note);
		return;
	}
	st = store_idem_commit(app->store, who->key.org_id, req->idempotency_key,
			       app->idem_hash, res->status,
			       location_of(res, location, sizeof(location)),
			       res->body.data ? res->body.data : "");
	if (st != STORE_OK)
		store_rollback(app->store); /* when the answer was refused */
	if (st != STORE_OK) {
		/* A lost COMMIT may have committed: the note stays, to be
		 * settled; anything else rolled back. */
		if (note && st != STORE_UNAVAILABLE)
			writes_abandon(app, note);
		rlog_warn(req->request_id, "msg=\"cannot commit an idempotent request\" detail=%s",
			  LOGQ(store_error(app->store)));
		buf_reset(&res->headers);
		response_fail(res, st == STORE_UNAVAILABLE ? API_UNAVAILABLE : API_INTERNAL,
			      NULL, st == STORE_UNAVAILABLE
					    ? "the database is unavailable, try again shortly"
					    : "internal error");
		return;
	}
	/* Committed, not answered: where a test kills the worker. */
	FAULT_POINT("after_commit");
	if (note && writes_publish(app, who->key.org_id, note) < 0) {
		rlog_error(req->request_id, "msg=\"cannot retire cached entries after a write\" detail=%s",
			   LOGQ(store_error(app->store)));
		buf_reset(&res->headers);
		response_fail(res, API_UNAVAILABLE, NULL,
			      "the change was saved but could not be published yet, try again shortly");
	}
}
