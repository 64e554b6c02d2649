/* contacts.c - /contacts: GET (a page, or one email), POST (create or
 * update by email), DELETE (by email, in the query or the body). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "handlers.h"
#include "writes.h"
#include "log.h"

void handle_contacts_get(struct app *app, const struct request *req,
			 const struct principal *who, struct response *res)
{
	struct listing ls;

	if (listing_params(req, NULL, &ls, res))
		listing_serve(app, req, who, &ls, res);
	listing_cleanup(&ls);
}

/* The answer of an upsert that ran: the handler's, and a replay's. */
static void upsert_answer(const struct write_result *wr, const struct contact_input *in,
			  struct response *res)
{
	if (wr->err) {
		respond_refusal(res, wr, in);
		return;
	}
	encode_write(&res->body, wr, true, true);
	if (strcmp(wr->action, "IMPORT_CREATE") == 0)
		response_created(res, "/contacts", wr->contact.id);
	else
		response_json(res, 200);
}

void handle_contacts_post(struct app *app, const struct request *req,
			  const struct principal *who, struct response *res)
{
	struct contact_input in;
	struct write_result wr = {0};
	struct apierr err;
	enum store_status st;
	uint64_t note;

	if (!require_json_body(req, res))
		return;
	if (codec_parse_contact(req->body.data, req->body.len, CONTACT_UPSERT, &in,
				&err) < 0) {
		response_error(res, &err);
		return;
	}
	if (!write_begin(app, who, res, &note))
		goto out;
	st = store_contact_upsert(app->store, who->key.org_id, &in, &wr);
	if (st == STORE_OK)
		writes_contact_changed(app, &wr, &in);
	if (!write_finish(app, req, who, res, note, st, st == STORE_OK && wr.err)) {
		if (st == STORE_OK && wr.err)
			upsert_answer(&wr, &in, res);
		goto out;
	}
	upsert_answer(&wr, &in, res);
out:
	store_rows_free(wr.rows);
	contact_input_cleanup(&in);
}

void contacts_post_replay(const struct request *req, const struct write_result *wr,
			  struct response *res)
{
	struct contact_input in;
	struct apierr err;

	/* The body is the first request's (the same hash): parsed again only
	 * for how it spelled a custom field a refusal names. */
	if (codec_parse_contact(req->body.data, req->body.len, CONTACT_UPSERT, &in,
				&err) < 0) {
		response_fail(res, API_INTERNAL, NULL, "internal error");
		return;
	}
	upsert_answer(wr, &in, res);
	contact_input_cleanup(&in);
}

struct delete_params {
	bool erase;
	bool suppress;
	char *email_key; /* owned: DELETE /contacts?email= */
};

/* The query of a DELETE: erase=, suppress= and (on /contacts) email=.
 * False: answered 400. */
static bool delete_params(const struct request *req, bool by_email,
			  struct delete_params *dp, struct response *res)
{
	struct query q;
	const char *email;
	size_t email_len;
	bool ok = false;

	memset(dp, 0, sizeof(*dp));
	if (!parse_query(req, &q, res))
		return false;
	if (query_get_bool(&q, "erase", false, &dp->erase) == QUERY_INVALID) {
		response_fail(res, API_INVALID_PARAMETER, "erase",
			      "erase must be true or false, given once");
		goto out;
	}
	if (query_get_bool(&q, "suppress", false, &dp->suppress) == QUERY_INVALID ||
	    (dp->suppress && !dp->erase)) {
		response_fail(res, API_INVALID_PARAMETER, "suppress",
			      "suppress must be true or false, given once, and true only with erase=true");
		goto out;
	}
	if (by_email) {
		switch (query_get_str(&q, "email", &email, &email_len)) {
		case QUERY_OK:
			if (!read_email(email, email_len, res, &dp->email_key))
				goto out;
			break;
		case QUERY_ABSENT:
			break;
		case QUERY_INVALID:
			response_fail(res, API_INVALID_PARAMETER, "email",
				      "email must be given once");
			goto out;
		}
	}
	ok = true;
out:
	query_cleanup(&q);
	return ok;
}

/* Deletes or erases the contact of id (or, id NULL, of email_key). */
static void delete_contact(struct app *app, const struct request *req,
		    const struct principal *who, const char *id,
		    const struct delete_params *dp, struct response *res)
{
	struct write_result wr = {0};
	enum store_status st;
	uint64_t note;

	if (!write_begin(app, who, res, &note))
		return;
	st = store_contact_delete(app->store, who->key.org_id, id, dp->email_key,
				  dp->erase, dp->suppress, &wr);
	if (st == STORE_OK)
		writes_contact_changed(app, &wr, NULL);
	if (!write_finish(app, req, who, res, note, st, st == STORE_OK && wr.err)) {
		if (st == STORE_OK && wr.err)
			respond_refusal(res, &wr, NULL);
		goto out;
	}
	if (dp->erase) {
		/* Nothing of the contact may stay in Redis either: every
		 * entry of the organization goes (docs/caching.md). */
		if (cache_purge(app->cache, who->key.org_id) < 0)
			rlog_warn(req->request_id,
				  "msg=\"cannot purge the cache after an erasure; its entries expire within cache_ttl\"");
		response_empty(res, 204);
		goto out;
	}
	encode_write(&res->body, &wr, false, false);
	response_json(res, 200);
out:
	store_rows_free(wr.rows);
}

void handle_contacts_delete(struct app *app, const struct request *req,
			    const struct principal *who, struct response *res)
{
	struct delete_params dp;
	struct contact_input in = {0};
	struct apierr err;

	if (!delete_params(req, true, &dp, res))
		goto out;
	if (req->body.len > 0 || req->body_too_large) {
		/* Trustmary's form: {"email": "..."} */
		if (dp.email_key) {
			response_fail(res, API_INVALID_PARAMETER, "email",
				      "give the email in the query or in the body, not both");
			goto out;
		}
		if (!require_json_body(req, res))
			goto out;
		if (codec_parse_contact(req->body.data, req->body.len,
					CONTACT_EMAIL_ONLY, &in, &err) < 0) {
			response_error(res, &err);
			goto out;
		}
		dp.email_key = xstrdup(in.email_key);
	}
	if (!dp.email_key) {
		response_fail(res, API_INVALID_PARAMETER, "email",
			      "email is required: DELETE /contacts?email=..., a body {\"email\": ...}, or DELETE /contacts/{id}");
		goto out;
	}
	delete_contact(app, req, who, NULL, &dp, res);
out:
	contact_input_cleanup(&in);
	free(dp.email_key);
}

void handle_contact_delete(struct app *app, const struct request *req,
			   const struct principal *who, struct response *res)
{
	struct delete_params dp;

	if (!path_id(req, "contact", res))
		return;
	if (delete_params(req, false, &dp, res))
		delete_contact(app, req, who, req->param, &dp, res);
	free(dp.email_key);
}

/* {"contact":{...}} of the contact of the path's id (with lists: and
 * "listsUpdated":0,"listsRemoved":0, a PATCH that changed nothing). */
static void answer_contact(struct app *app, const struct request *req,
			   const struct principal *who, struct response *res,
			   bool lists)
{
	struct store_rows *rows;
	enum store_status st;
	struct contact c;

	st = store_contact_by_id(app->store, who->key.org_id, req->param, &rows);
	if (st != STORE_OK) {
		respond_store_failure(app, req, res, st);
		return;
	}
	if (store_rows_count(rows) != 1) {
		response_fail(res, API_NOT_FOUND, NULL, "no such contact");
		goto out;
	}
	store_rows_contact(rows, 0, &c);
	buf_puts(&res->body, "{\"contact\":");
	codec_contact(&res->body, &c);
	if (lists)
		buf_puts(&res->body, ",\"listsUpdated\":0,\"listsRemoved\":0");
	buf_putc(&res->body, '}');
	response_json(res, 200);
out:
	store_rows_free(rows);
}

void handle_contact_get(struct app *app, const struct request *req,
			const struct principal *who, struct response *res)
{
	if (path_id(req, "contact", res))
		answer_contact(app, req, who, res, false);
}

/* True when a PATCH body changes nothing at all. */
static bool patch_empty(const struct contact_input *in)
{
	return in->fields == 0 && in->nlists == 0 && in->nremove == 0 && !in->custom;
}

void handle_contact_patch(struct app *app, const struct request *req,
			  const struct principal *who, struct response *res)
{
	struct contact_input in;
	struct write_result wr = {0};
	struct apierr err;
	enum store_status st;
	uint64_t note;

	if (!path_id(req, "contact", res))
		return;
	if (!require_json_body(req, res))
		return;
	if (codec_parse_contact(req->body.data, req->body.len, CONTACT_PATCH, &in,
				&err) < 0) {
		response_error(res, &err);
		return;
	}
	if (patch_empty(&in)) {
		/* Nothing to write: the contact as it is. */
		contact_input_cleanup(&in);
		answer_contact(app, req, who, res, true);
		return;
	}
	if (!write_begin(app, who, res, &note))
		goto out;
	st = store_contact_patch(app->store, who->key.org_id, req->param, &in, &wr);
	if (st == STORE_OK)
		writes_contact_changed(app, &wr, &in);
	if (!write_finish(app, req, who, res, note, st, st == STORE_OK && wr.err)) {
		if (st == STORE_OK && wr.err)
			respond_refusal(res, &wr, &in);
		goto out;
	}
	encode_write(&res->body, &wr, false, true);
	response_json(res, 200);
out:
	store_rows_free(wr.rows);
	contact_input_cleanup(&in);
}

void handle_suppressions_delete(struct app *app, const struct request *req,
				const struct principal *who, struct response *res)
{
	struct query q;
	const char *email;
	size_t email_len;
	char *key = NULL;
	bool lifted = false;
	enum store_status st;

	if (!parse_query(req, &q, res))
		return;
	if (query_get_str(&q, "email", &email, &email_len) != QUERY_OK) {
		response_fail(res, API_INVALID_PARAMETER, "email",
			      "email is required, given once");
		goto out;
	}
	if (!read_email(email, email_len, res, &key))
		goto out;
	/* No cached answer shows a suppression: no cache to tell. */
	st = store_suppression_lift(app->store, who->key.org_id, key, &lifted);
	if (st != STORE_OK)
		respond_store_failure(app, req, res, st);
	else if (!lifted)
		response_fail(res, API_NOT_FOUND, NULL, "that email is not suppressed");
	else
		response_empty(res, 204);
out:
	free(key);
	query_cleanup(&q);
}
