/* idempotency.c - Idempotency-Key (see idempotency.h). */
#include "idempotency.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "fault.h"
#include "handlers/handlers.h"
#include "id.h"
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
	res->error_code = NULL; /* the handler's, if it failed, is not the answer */
	res->content_type = res->body.len ? "application/json" : NULL;
	if (a->location)
		response_header(res, "Location", "%s", a->location);
	response_header(res, "Idempotent-Replayed", "true");
}

/* The answer of a kept write result (schema/021): built again by the
 * handler's own code, from the same result and the same request. */
static void replay_write(const struct request *req, struct response *res,
			 const struct idem_answer *a)
{
	buf_reset(&res->body);
	res->error_code = NULL;
	contacts_post_replay(req, &a->write, res);
	response_header(res, "Idempotent-Replayed", "true");
}

/* The answer's headers back to those it had before the handler ran (the
 * rate limit's stay). */
static void headers_back(const struct app *app, struct response *res)
{
	if (res->headers.data && res->headers.len > app->idem_headers) {
		res->headers.len = app->idem_headers;
		res->headers.data[res->headers.len] = '\0';
	}
}

/* A failure of the database in res, in place of what was there. */
static void fail_store(const struct app *app, struct response *res, enum store_status st)
{
	headers_back(app, res);
	response_fail(res, st == STORE_UNAVAILABLE ? API_UNAVAILABLE : API_INTERNAL, NULL,
		      st == STORE_UNAVAILABLE ? "the database is unavailable, try again shortly"
					      : "internal error");
}

enum idem_result idem_begin(struct app *app, const struct request *req,
			    const struct principal *who, struct response *res)
{
	enum store_status st;

	app->idem_key = NULL;
	app->deferred_note = 0;
	app->idem_headers = res->headers.len;
	if (!req->idempotency_key)
		return IDEM_RUN;
	if (!idem_key_valid(req->idempotency_key)) {
		response_fail(res, API_INVALID_PARAMETER, "Idempotency-Key",
			      "Idempotency-Key must be 1 to 255 printable ASCII characters");
		return IDEM_ANSWERED;
	}
	request_hash(req, app->idem_hash);
	/* The key's lock goes with the handler's first statement: what the
	 * handler does before it is read stays in the transaction, and
	 * idem_end() rolls it back unless the lock was taken and the key had
	 * no answer. */
	st = store_idem_send(app->store, who->key.org_id, req->idempotency_key,
			     app->idem_hash);
	if (st != STORE_OK) {
		store_rollback(app->store);
		fail_store(app, res, st);
		return IDEM_ANSWERED;
	}
	app->idem_key = req->idempotency_key;
	return IDEM_RUN;
}

/* The key is taken: the handler's work was rolled back and the answer is
 * the key's (a replay, a mismatch, a request still running). */
static void answer_taken(struct app *app, const struct request *req,
			 const struct principal *who, struct response *res,
			 const struct idem_answer *a)
{
	headers_back(app, res);
	switch (a->state) {
	case IDEM_REPLAY:
		if (a->has_write)
			replay_write(req, res, a);
		else
			replay(res, a);
		if (res->status >= 200 && res->status < 300 &&
		    writes_replayed(app, who->key.org_id) < 0) {
			headers_back(app, res);
			response_fail(res, API_UNAVAILABLE, NULL,
				      "the change was saved but could not be published yet, try again shortly");
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

/* The ids of the contacts an answer shows, as a text[] literal into out:
 * what an erasure looks for, so that no stored answer outlives a contact
 * it shows.  The codec spells every contact "contact":{"id":"<id>", and a
 * quote that is not escaped is never inside a string, so each match is a
 * contact's id.  Not an object: none.  NULL when a match is not followed
 * by an id (then PostgreSQL reads the body: schema/006's path). */
static const char *answer_contact_ids(const char *body, struct buf *out)
{
	static const char mark[] = "\"contact\":{\"id\":\"";
	const char *p = body;
	bool first = true;

	buf_reset(out);
	buf_putc(out, '{');
	if (body[0] == '{') {
		while ((p = strstr(p, mark)) != NULL) {
			p += sizeof(mark) - 1;
			if (!id_valid(p, ID_LEN) || p[ID_LEN] != '"')
				return NULL;
			if (!first)
				buf_putc(out, ',');
			buf_append(out, p, ID_LEN);
			first = false;
			p += ID_LEN;
		}
	}
	buf_putc(out, '}');
	return out->data;
}

void idem_end(struct app *app, const struct request *req,
	      const struct principal *who, struct response *res)
{
	char location[512];
	const char *org = who->key.org_id, *key = req->idempotency_key;
	uint64_t note = app->deferred_note;
	struct idem_answer a = {.state = IDEM_BUSY};
	bool locked, taken = false;
	const char *body;
	enum store_status st;

	if (!app->idem_key)
		return;
	app->idem_key = NULL;
	app->deferred_note = 0;
	st = store_idem_locked(app->store, &locked);
	/* A kept write (schema/021) ended its transaction itself: its
	 * answer is stored, whatever the handler answered after, or the
	 * key's is (taken). */
	if (st == STORE_OK && locked && (res->status < 500 || store_idem_kept(app->store))) {
		body = res->body.data ? res->body.data : "";
		st = store_idem_commit(app->store, org, key, app->idem_hash, res->status,
				       location_of(res, location, sizeof(location)), body,
				       store_idem_kept(app->store)
					       ? NULL
					       : answer_contact_ids(body, &app->scratch),
				       &taken);
		if (st == STORE_OK && !taken) {
			/* Committed, not answered: where a test kills the worker. */
			FAULT_POINT("after_commit");
			if (note && writes_publish(app, org, note) < 0) {
				rlog_error(req->request_id,
					   "msg=\"cannot retire cached entries after a write\" detail=%s",
					   LOGQ(store_error(app->store)));
				headers_back(app, res);
				response_fail(res, API_UNAVAILABLE, NULL,
					      "the change was saved but could not be published yet, try again shortly");
			}
			return;
		}
		if (st != STORE_OK)
			rlog_warn(req->request_id, "msg=\"cannot commit an idempotent request\" detail=%s",
				  LOGQ(store_error(app->store)));
	}
	/* Nothing of it is kept: a 5xx (a retry with the key runs again),
	 * the key locked by another request or holding an answer (the key's
	 * answer instead), or a failure.  A lost COMMIT may have committed:
	 * its note stays, to be settled. */
	store_rollback(app->store);
	if (note && st != STORE_UNAVAILABLE)
		writes_abandon(app, note);
	if (st == STORE_OK && taken)
		st = store_idem_answer(app->store, org, key, app->idem_hash, &a);
	if (st != STORE_OK)
		fail_store(app, res, st);
	else if (!locked || taken)
		answer_taken(app, req, who, res, &a);
	store_rows_free(a.rows);
}
