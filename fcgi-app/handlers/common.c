/* common.c - small steps every handler shares. */
#include <string.h>
#include <strings.h>

#include "codec.h"
#include "handlers.h"
#include "id.h"
#include "log.h"
#include "router.h"
#include "validate.h"
#include "writes.h"

void respond_store_failure(struct app *app, const struct request *req,
			   struct response *res, enum store_status st)
{
	if (st == STORE_UNAVAILABLE) {
		response_fail(res, API_UNAVAILABLE, NULL,
			      "the database is unavailable, try again shortly");
		return;
	}
	if (!store_idem_taken(app->store)) /* else idem_end() answers for the key */
		rlog_error(req->request_id, "msg=\"database error\" detail=%s",
			   LOGQ(store_error(app->store)));
	response_fail(res, API_INTERNAL, NULL, "internal error");
}

bool require_json_body(const struct request *req, struct response *res)
{
	const char *ct = req->content_type;
	size_t n = strlen("application/json");

	if (strncasecmp(ct, "application/json", n) != 0 ||
	    (ct[n] != '\0' && ct[n] != ';' && ct[n] != ' ' && ct[n] != '\t')) {
		response_fail(res, API_UNSUPPORTED_MEDIA_TYPE, NULL,
			      "Content-Type must be application/json");
		return false;
	}
	if (req->body_too_large) {
		response_fail(res, API_PAYLOAD_TOO_LARGE, NULL,
			      "request body is larger than %zu KiB",
			      router_body_limit(req->method, req->path) / 1024);
		return false;
	}
	return true;
}

bool parse_query(const struct request *req, struct query *q,
		 struct response *res)
{
	if (query_parse(q, req->query) < 0) {
		if (q->bad_name[0])
			response_fail(res, API_INVALID_PARAMETER, q->bad_name,
				      "%s must be percent-encoded UTF-8 text without NUL bytes",
				      q->bad_name);
		else
			response_fail(res, API_INVALID_PARAMETER, NULL,
				      "the query string is malformed");
		return false;
	}
	return true;
}

bool read_page_params(const struct query *q, struct page_params *p,
		      struct response *res)
{
	int64_t v;

	if (query_get_int(q, "offset", 0, INT32_MAX, 0, &v) == QUERY_INVALID) {
		response_fail(res, API_INVALID_PARAMETER, "offset",
			      "offset must be an integer from 0 to 2147483647, given once");
		return false;
	}
	p->offset = v;
	if (query_get_int(q, "limit", 1, 1000, 1000, &v) == QUERY_INVALID) {
		response_fail(res, API_INVALID_PARAMETER, "limit",
			      "limit must be an integer from 1 to 1000, given once");
		return false;
	}
	p->limit = (int)v;
	return true;
}

bool read_email(const char *email, size_t len, struct response *res, char **key)
{
	email = str_trim(email, len, &len);
	if (!email_valid(email, len)) {
		response_fail(res, API_INVALID_PARAMETER, "email",
			      "email must be a valid address");
		return false;
	}
	*key = xmalloc(len + 1);
	email_fold(email, len, *key);
	return true;
}

void encode_contacts(struct buf *out, const struct store_rows *rows)
{
	size_t n = store_rows_count(rows);

	buf_puts(out, "{\"contacts\":[");
	for (size_t i = 0; i < n; i++) {
		struct contact c;

		store_rows_contact(rows, i, &c);
		if (i)
			buf_putc(out, ',');
		codec_contact(out, &c);
	}
	buf_puts(out, "]}");
}

void encode_write(struct buf *out, const struct write_result *wr, bool action,
		  bool lists)
{
	buf_puts(out, "{\"contact\":");
	codec_contact(out, &wr->contact);
	if (action)
		buf_printf(out, ",\"action\":\"%s\"", wr->action);
	if (lists)
		buf_printf(out, ",\"listsUpdated\":%d,\"listsRemoved\":%d",
			   wr->lists_updated, wr->lists_removed);
	buf_putc(out, '}');
}

bool write_begin(struct app *app, const struct principal *who,
		 struct response *res, uint64_t *note)
{
	if (writes_begin(app, who->key.org_id, note) == 0)
		return true;
	response_fail(res, API_UNAVAILABLE, NULL,
		      "the database is unavailable, try again shortly");
	return false;
}

bool write_finish(struct app *app, const struct request *req,
		  const struct principal *who, struct response *res,
		  uint64_t note, enum store_status st, bool refused)
{
	if (st == STORE_UNAVAILABLE) {
		/* The outcome is unknown: the note stays, to be settled. */
		respond_store_failure(app, req, res, st);
		return false;
	}
	if (st != STORE_OK || refused) {
		writes_abandon(app, note);
		if (st != STORE_OK)
			respond_store_failure(app, req, res, st);
		return false;
	}
	if (store_in_transaction(app->store) || store_idem_kept(app->store)) {
		/* An idempotent request: published after its commit, by
		 * idem_end() (a kept write committed in its own statement's
		 * round trip: idem_end() publishes it all the same, after the
		 * point where a test kills a worker between the two). */
		app->deferred_note = note;
		return true;
	}
	if (writes_publish(app, who->key.org_id, note) < 0) {
		rlog_error(req->request_id, "msg=\"cannot retire cached entries after a write\" detail=%s",
			   LOGQ(store_error(app->store)));
		response_fail(res, API_UNAVAILABLE, NULL,
			      "the change was saved but could not be published yet, try again shortly");
		return false;
	}
	return true;
}

void refusal_error(const struct write_result *wr, const struct contact_input *in,
		   struct apierr *e)
{
	const char *err = wr->err, *field = wr->err_field;
	const char *spelled = field && in ? codec_custom_spelling(in, field) : field;

	if (strcmp(err, "unknown_list") == 0)
		apierr_set(e, API_UNKNOWN_LIST, field, "unknown list ids: %s",
			      wr->err_detail ? wr->err_detail : "");
	else if (strcmp(err, "unknown_field") == 0)
		apierr_set(e, API_UNKNOWN_FIELD, spelled,
			      "%s is not a custom field of this organization (POST /fields defines one)",
			      spelled);
	else if (strcmp(err, "invalid_field") == 0)
		apierr_set(e, API_INVALID_FIELD, spelled,
			      "%s must be a %s%s or null", spelled,
			      wr->err_detail ? wr->err_detail : "value of its type",
			      wr->err_detail && strcmp(wr->err_detail, "date") == 0
				      ? " written YYYY-MM-DD"
				      : wr->err_detail && strcmp(wr->err_detail, "string") == 0
					      ? " of at most 1000 characters"
					      : "");
	else if (strcmp(err, "email_taken") == 0)
		apierr_set(e, API_EMAIL_TAKEN, "email",
			      "another contact of this organization has that email");
	else if (strcmp(err, "suppressed") == 0)
		apierr_set(e, API_SUPPRESSED, "email",
			      "that email was erased with suppression (DELETE /suppressions lifts it)");
	else if (strcmp(err, "not_found") == 0)
		apierr_set(e, API_NOT_FOUND, NULL, "no such contact");
	else
		apierr_set(e, API_INTERNAL, NULL, "internal error");
}

void respond_refusal(struct response *res, const struct write_result *wr,
		     const struct contact_input *in)
{
	struct apierr e;

	refusal_error(wr, in, &e);
	response_error(res, &e);
}

bool path_id(const struct request *req, const char *what, struct response *res)
{
	if (req->param && id_valid(req->param, strlen(req->param)))
		return true;
	response_fail(res, API_NOT_FOUND, NULL, "no such %s", what);
	return false;
}
