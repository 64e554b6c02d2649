/* store.c - PostgreSQL through libpq: connection, prepared statements, and
 * decoding of binary results into model values. */
#include "store.h"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "log.h"
#include "store_sql.h"
#include "timefmt.h"

#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 1000
/* Tries of a statement that lost a deadlock or serialization race. */
#define RACE_ATTEMPTS 3

/* An Idempotency-Key's answer could not be stored, the key has one; its
 * lock is held by another request (schema/018_idempotency_lean.sql).
 * Answers, not failures: neither is logged or counted. */
#define SQLSTATE_KEY_TAKEN "IK001"
#define SQLSTATE_KEY_BUSY "IK002"
#define SQLSTATE_KEY_CLASS "IK"

struct store {
	char *conninfo;
	char options[96]; /* libpq "options": the settings of its sessions */
	char app_name[64];
	PGconn *conn;
	char error[256];
	char sqlstate[6];
	uint64_t errors;
	int64_t retry_at_ms; /* no connection attempt before this */
	struct store_backend backend; /* of conn */
	int backoff_ms;
	bool in_tx; /* between store_begin() and store_commit()/rollback() */
	/* An idempotent request's claim (store_idem_send()), not sent yet: it
	 * goes with the next statement, after BEGIN (or, with a kept write,
	 * in that statement's implicit transaction).  org, key and hash are
	 * the caller's, borrowed until the transaction ends. */
	bool claim_pending;
	const char *claim_org, *claim_key, *claim_hash;
	PGresult *claim; /* the claim's row once read, until store_idem_locked() */
	enum store_status claim_st;
	bool claim_busy; /* the key's lock is another request's */
	/* A kept write (STMT_CONTACT_UPSERT_KEPT): its transaction ended at
	 * its Sync, committed with the write's result beside the key, or
	 * rolled back because the key had an answer (IK001). */
	enum { KEPT_NONE, KEPT_STORED, KEPT_TAKEN } kept;
};

struct store_rows {
	PGresult *res;
};

static int result_columns(enum stmt id);
static enum store_status simple(struct store *s, const char *sql);
static enum store_status run_pipelined(struct store *s, enum stmt id,
				       const char *const *params, bool commit,
				       PGresult **out);

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_error(struct store *s, const char *what, const char *detail)
{
	size_t n;

	snprintf(s->error, sizeof(s->error), "%s: %s", what,
		 detail && *detail ? detail : "unknown error");
	/* libpq messages end with a newline; logs want one line. */
	n = strlen(s->error);
	while (n && (s->error[n - 1] == '\n' || s->error[n - 1] == '\r'))
		s->error[--n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (s->error[i] == '\n' || s->error[i] == '"')
			s->error[i] = ' ';
}

struct store *store_new(const char *conninfo, int statement_timeout_ms)
{
	struct store *s = xcalloc(1, sizeof(*s));

	s->conninfo = xstrdup(conninfo);
	snprintf(s->app_name, sizeof(s->app_name), "contacts-fcgi");
	if (statement_timeout_ms > 0)
		snprintf(s->options, sizeof(s->options),
			 "-c max_parallel_workers_per_gather=0 -c statement_timeout=%d",
			 statement_timeout_ms);
	else
		snprintf(s->options, sizeof(s->options),
			 "-c max_parallel_workers_per_gather=0");
	return s;
}

void store_free(struct store *s)
{
	if (!s)
		return;
	if (s->conn)
		PQfinish(s->conn);
	PQclear(s->claim);
	free(s->conninfo);
	free(s);
}

const char *store_error(const struct store *s)
{
	return s->error;
}

uint64_t store_error_count(const struct store *s)
{
	return s->errors;
}

static void disconnect(struct store *s)
{
	if (s->conn)
		PQfinish(s->conn);
	s->conn = NULL;
	s->claim_pending = false;
}

static enum store_status connect_and_prepare(struct store *s)
{
	/* Every statement is a short index look-up or range: a parallel plan
	 * only adds workers' start-up to it (the member pages were planned
	 * parallel at a million rows).  s->options has it, and the
	 * statement_timeout; before dbname, so an options keyword in the
	 * conninfo wins. */
	static const char *const keys[] = {"connect_timeout", "application_name",
					   "options", "dbname", NULL};
	const char *values[] = {"2", s->app_name, s->options, s->conninfo, NULL};
	int64_t now = now_ms();

	if (now < s->retry_at_ms)
		return STORE_UNAVAILABLE;
	s->conn = PQconnectdbParams(keys, values, 1);
	if (PQstatus(s->conn) != CONNECTION_OK) {
		set_error(s, "cannot connect to postgresql", PQerrorMessage(s->conn));
		goto unavailable;
	}
	for (int i = 0; i < STMT__COUNT; i++) {
		PGresult *r = PQprepare(s->conn, stmt_defs[i].name, stmt_defs[i].sql,
					stmt_defs[i].nparams, NULL);

		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			set_error(s, "cannot prepare statement", PQresultErrorMessage(r));
			PQclear(r);
			log_error("msg=%s statement=%s", LOGQ(s->error), stmt_defs[i].name);
			goto unavailable;
		}
		PQclear(r);
	}
	{
		PGresult *r = PQexecPrepared(s->conn, stmt_defs[STMT_BACKEND_START].name,
					     0, NULL, NULL, NULL, 0);

		if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1 ||
		    PQnfields(r) != result_columns(STMT_BACKEND_START)) {
			set_error(s, "cannot name the server process", PQresultErrorMessage(r));
			PQclear(r);
			goto unavailable;
		}
		s->backend.pid = PQbackendPID(s->conn);
		snprintf(s->backend.start, sizeof(s->backend.start), "%s",
			 PQgetvalue(r, 0, BACKEND_COL_START));
		PQclear(r);
	}
	s->backoff_ms = 0;
	s->retry_at_ms = 0;
	log_info("msg=\"connected to postgresql\"");
	return STORE_OK;
unavailable:
	s->errors++;
	disconnect(s);
	s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (s->backoff_ms > BACKOFF_MAX_MS)
		s->backoff_ms = BACKOFF_MAX_MS;
	s->retry_at_ms = now + s->backoff_ms;
	log_warn("msg=%s retry_in_ms=%d", LOGQ(s->error), s->backoff_ms);
	return STORE_UNAVAILABLE;
}

static bool sqlstate_is(const struct store *s, const char *prefix)
{
	return strncmp(s->sqlstate, prefix, strlen(prefix)) == 0;
}

/* A failed statement's message without its DETAIL: a unique violation's
 * DETAIL quotes the row's values (an email), which no log may hold.  The
 * primary message names the constraint, which is what callers look at. */
static const char *primary_message(const PGresult *r)
{
	const char *m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);

	return m ? m : PQresultErrorMessage(r);
}

/* How many columns a statement's rows have, as its decoder reads them by
 * the enums of store_sql.h; 0 for those whose rows are not read. */
static int result_columns(enum stmt id)
{
	switch (id) {
	case STMT_KEY_LOOKUP:
		return KEY_COL__COUNT;
	case STMT_CONTACTS_PAGE:
	case STMT_CONTACTS_PAGE_ALL:
		return PAGE_COL__COUNT;
	case STMT_CONTACT_BY_EMAIL:
	case STMT_CONTACT_BY_ID:
	case STMT_LIST_MEMBERS_PAGE:
	case STMT_LIST_MEMBERS_PAGE_ALL:
		return CONTACT_COL__COUNT;
	case STMT_CONTACT_UPSERT:
	case STMT_CONTACT_UPSERT_LISTS:
	case STMT_CONTACT_BULK:
	case STMT_CONTACT_PATCH:
	case STMT_CONTACT_DELETE:
	case STMT_CONTACT_ERASE:
		return WRITE_COL__COUNT;
	case STMT_CONTACT_UPSERT_KEPT:
	case STMT_CONTACT_UPSERT_LISTS_KEPT:
		return WRITE_COL__COUNT + 1;
	case STMT_LIST_CREATE:
	case STMT_LIST_BY_ID:
	case STMT_LIST_PATCH:
	case STMT_LIST_DELETE:
	case STMT_LISTS_PAGE:
	case STMT_LISTS_PAGE_TYPE:
		return LIST_COL__COUNT;
	case STMT_FIELD_CREATE:
	case STMT_FIELDS_LIST:
		return FIELD_COL__COUNT;
	case STMT_CONTACTS_UPDATED_SINCE:
	case STMT_CONTACTS_UPDATED_SINCE_ALL:
	case STMT_CONTACTS_BY_EID:
	case STMT_CONTACTS_BY_EID_ALL:
		return CONTACT_COL__COUNT;
	case STMT_CHANGES_PAGE:
		return CHANGE_COL__COUNT;
	case STMT_IDEM_ANSWER:
		return IDEM_COL__COUNT;
	case STMT_IDEM_CLAIM:
		return BOOL_COL__COUNT;
	case STMT_SUPPRESSION_LIFT:
	case STMT_FEED_EXPIRED:
	case STMT_FIELD_DELETE:
	case STMT_END_BACKEND:
		return BOOL_COL__COUNT;
	case STMT_BACKEND_START:
		return BACKEND_COL__COUNT;
	case STMT_HOST_BEAT:
		return BEAT_COL__COUNT;
	case STMT_HOST_END:
		return END_COL__COUNT;
	default:
		return 0;
	}
}

/* A statement's failure, from its result r (NULL: none came), into
 * s->sqlstate and s->error.  Counted, but an answer of an
 * Idempotency-Key (SQLSTATE_KEY_CLASS) is not a failure. */
static void record_failure(struct store *s, const char *what, const PGresult *r)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

	snprintf(s->sqlstate, sizeof(s->sqlstate), "%s", state ? state : "");
	set_error(s, what, r && PQresultErrorMessage(r)[0] ? primary_message(r)
							   : PQerrorMessage(s->conn));
	if (!sqlstate_is(s, SQLSTATE_KEY_CLASS))
		s->errors++;
}

static bool connection_lost(const struct store *s)
{
	return PQstatus(s->conn) == CONNECTION_BAD || sqlstate_is(s, "08") ||
	       sqlstate_is(s, "57P");
}

/* What the failure recorded last means for the caller, logged: the
 * connection lost (it is closed) or the statement cancelled, 503; any
 * other, 500 (a lost race and a key's answer are not logged: the caller
 * deals with them). */
static enum store_status failure_status(struct store *s)
{
	if (connection_lost(s)) {
		log_warn("msg=\"lost the postgresql connection\" detail=%s", LOGQ(s->error));
		disconnect(s);
		return STORE_UNAVAILABLE;
	}
	if (sqlstate_is(s, "57014")) {
		/* query_canceled: statement_timeout (or an operator's
		 * pg_cancel_backend); the connection stays.  503, not retried:
		 * nginx would give up on it first. */
		log_warn("msg=\"statement cancelled\" detail=%s", LOGQ(s->error));
		return STORE_UNAVAILABLE;
	}
	if (!sqlstate_is(s, "40") && !sqlstate_is(s, SQLSTATE_KEY_CLASS))
		log_error("msg=\"statement failed\" sqlstate=%s detail=%s",
			  LOGQ(s->sqlstate), LOGQ(s->error));
	return STORE_ERROR;
}

/* Runs a prepared statement.  A read (retry true) whose connection turns out
 * to be lost is tried once more on a new connection; any statement that
 * lost a deadlock or serialization race (rolled back whole) is tried up to
 * RACE_ATTEMPTS times. */
static enum store_status run(struct store *s, enum stmt id,
			     const char *const *params, bool retry,
			     PGresult **out)
{
	*out = NULL;
	for (int attempt = 0, lost = 0; attempt < RACE_ATTEMPTS; attempt++) {
		PGresult *r;
		ExecStatusType st;
		enum store_status failed;

		s->sqlstate[0] = '\0';
		if (s->claim_pending) /* in the claim's round trip */
			return run_pipelined(s, id, params, false, out);
		if (!s->conn && (s->in_tx || connect_and_prepare(s) != STORE_OK))
			return STORE_UNAVAILABLE;
		r = PQexecPrepared(s->conn, stmt_defs[id].name, stmt_defs[id].nparams,
				   params, NULL, NULL, 1);
		st = PQresultStatus(r);
		if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
			int want = result_columns(id);

			if (st == PGRES_TUPLES_OK && want && PQnfields(r) != want) {
				/* The schema and this binary disagree. */
				set_error(s, stmt_defs[id].name, "unexpected result columns");
				PQclear(r);
				s->errors++;
				log_error("msg=\"%s\"", s->error);
				return STORE_ERROR;
			}
			*out = r;
			return STORE_OK;
		}
		record_failure(s, stmt_defs[id].name, r);
		PQclear(r);
		/* A lost race rolled back the statement, and in a transaction
		 * the whole of it: only a statement of its own is tried again. */
		if (!connection_lost(s) && !s->in_tx &&
		    (sqlstate_is(s, "40001") || sqlstate_is(s, "40P01")))
			continue;
		failed = failure_status(s);
		if (failed == STORE_UNAVAILABLE && !s->conn && retry && !s->in_tx &&
		    lost++ == 0)
			continue; /* a read, on a new connection */
		return failed;
	}
	return sqlstate_is(s, "40") ? STORE_ERROR : STORE_UNAVAILABLE;
}

/* Reads the result of one query of a pipeline and the NULL after it. */
static PGresult *pipeline_result(PGconn *conn)
{
	PGresult *r = PQgetResult(conn), *extra;

	while (r && (extra = PQgetResult(conn)) != NULL)
		PQclear(extra); /* not expected: one result a query */
	return r;
}

/* A keyed write that stores its own result (schema/021): the request's
 * one statement, run with the claim in one implicit transaction. */
static bool kept_statement(enum stmt id)
{
	return id == STMT_CONTACT_UPSERT_KEPT || id == STMT_CONTACT_UPSERT_LISTS_KEPT;
}

/* Runs, in one round trip (libpq's pipeline mode), what an idempotent
 * request's transaction sends together: the BEGIN and claim of
 * store_idem_send() (s->claim_pending), then the prepared statement id
 * (STMT__COUNT: none), then COMMIT if commit.  A kept statement goes
 * with the claim alone, no BEGIN: the two are the implicit transaction
 * that the pipeline's Sync commits (s->kept says how it ended).  The
 * claim's row goes to s->claim, the statement's result to *out.  Never
 * retried (all of it is part of a transaction).  A command that fails
 * skips the rest, and its failure is the answer; the caller rolls back. */
static enum store_status run_pipelined(struct store *s, enum stmt id,
				       const char *const *params, bool commit,
				       PGresult **out)
{
	enum { P_BEGIN, P_CLAIM, P_STMT, P_COMMIT, P__COUNT };
	bool claim = s->claim_pending;
	bool implicit = claim && kept_statement(id);
	enum stmt of[P__COUNT] = {claim && !implicit ? STMT_BEGIN : STMT__COUNT,
				  claim ? STMT_IDEM_CLAIM : STMT__COUNT, id,
				  commit ? STMT_COMMIT : STMT__COUNT};
	const char *claim_params[] = {s->claim_org, s->claim_key};
	const char *const *with[P__COUNT] = {NULL, claim_params, params, NULL};
	PGresult *r[P__COUNT] = {NULL};
	enum store_status st = STORE_OK;
	int failed = P__COUNT;
	bool sent;

	*out = NULL;
	s->claim_pending = false;
	s->sqlstate[0] = '\0';
	/* A claim that was not sent yet has nothing to lose on a new
	 * connection. */
	if (!s->conn && ((s->in_tx && !claim) || connect_and_prepare(s) != STORE_OK))
		return STORE_UNAVAILABLE;
	sent = PQenterPipelineMode(s->conn);
	for (int i = 0; i < P__COUNT && sent; i++)
		if (of[i] != STMT__COUNT)
			sent = PQsendQueryPrepared(s->conn, stmt_defs[of[i]].name,
						   stmt_defs[of[i]].nparams, with[i], NULL,
						   NULL, 1);
	sent = sent && PQpipelineSync(s->conn);
	if (sent) {
		PGresult *sync;

		for (int i = 0; i < P__COUNT; i++)
			if (of[i] != STMT__COUNT)
				r[i] = pipeline_result(s->conn);
		sync = PQgetResult(s->conn);
		sent = PQresultStatus(sync) == PGRES_PIPELINE_SYNC;
		PQclear(sync);
		sent = sent && PQexitPipelineMode(s->conn);
	}
	for (int i = 0; i < P__COUNT && sent && st == STORE_OK; i++) {
		const char *what;
		ExecStatusType rs;

		if (of[i] == STMT__COUNT)
			continue;
		what = stmt_defs[of[i]].name;
		rs = PQresultStatus(r[i]);
		if (rs == PGRES_COMMAND_OK ||
		    (rs == PGRES_TUPLES_OK &&
		     (!result_columns(of[i]) || PQnfields(r[i]) == result_columns(of[i]))))
			continue;
		failed = i;
		st = STORE_ERROR;
		if (rs == PGRES_TUPLES_OK) {
			set_error(s, what, "unexpected result columns");
			s->errors++;
		} else {
			record_failure(s, what, r[i]);
		}
	}
	if (!sent) {
		set_error(s, "pipeline", PQerrorMessage(s->conn));
		s->errors++;
		failed = 0;
		st = STORE_ERROR;
	}
	if (st != STORE_OK) {
		if (!sent) {
			log_warn("msg=\"lost the postgresql connection\" detail=%s",
				 LOGQ(s->error));
			disconnect(s);
			st = STORE_UNAVAILABLE;
		} else {
			st = failure_status(s);
		}
	}
	if (implicit) {
		/* The Sync ended the transaction: committed when every command
		 * succeeded, rolled back otherwise (or unknown: the connection
		 * is gone, and the answer 503). */
		s->in_tx = false;
		if (st == STORE_OK)
			s->kept = KEPT_STORED;
		else if (failed == P_STMT && sqlstate_is(s, SQLSTATE_KEY_TAKEN))
			s->kept = KEPT_TAKEN;
	}
	if (claim) {
		/* The claim's outcome, for store_idem_locked(). */
		s->claim_st = failed <= P_CLAIM || !s->conn ? st : STORE_OK;
		s->claim_busy = failed == P_CLAIM && sqlstate_is(s, SQLSTATE_KEY_BUSY);
		PQclear(s->claim);
		s->claim = NULL;
		if (s->claim_st == STORE_OK) {
			s->claim = r[P_CLAIM];
			r[P_CLAIM] = NULL;
		}
	}
	if (st == STORE_OK && id != STMT__COUNT) {
		*out = r[P_STMT];
		r[P_STMT] = NULL;
	}
	for (int i = 0; i < P__COUNT; i++)
		PQclear(r[i]);
	return st;
}

/* The text parameters of a page: offset and limit. */
struct page_text {
	char offset[24];
	char limit[16];
};

static void page_text(struct page_text *t, int64_t offset, int limit)
{
	snprintf(t->offset, sizeof(t->offset), "%lld", (long long)offset);
	snprintf(t->limit, sizeof(t->limit), "%d", limit);
}

static struct store_rows *wrap(PGresult *r)
{
	struct store_rows *rows = xmalloc(sizeof(*rows));

	rows->res = r;
	return rows;
}

enum store_status store_ping(struct store *s)
{
	PGresult *r;
	enum store_status st = run(s, STMT_PING, NULL, true, &r);

	PQclear(r);
	return st;
}

/* --- binary result decoding --- */

static const char *col_text(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

static int64_t col_int(const PGresult *r, int row, int col)
{
	const unsigned char *p = (const unsigned char *)PQgetvalue(r, row, col);
	int len = PQgetlength(r, row, col);
	uint64_t v = 0;

	if (PQgetisnull(r, row, col) || (len != 4 && len != 8))
		return 0;
	for (int i = 0; i < len; i++)
		v = (v << 8) | p[i];
	if (len == 4)
		return (int32_t)(uint32_t)v;
	return (int64_t)v;
}

static int64_t col_time(const PGresult *r, int row, int col, bool *present)
{
	bool null = PQgetisnull(r, row, col);

	if (present)
		*present = !null;
	return null ? 0 : timefmt_pg_to_unix_ms(col_int(r, row, col));
}

size_t store_rows_count(const struct store_rows *r)
{
	return r && r->res ? (size_t)PQntuples(r->res) : 0;
}

/* A jsonb value in binary: a version byte (1), then the text. */
static const char *col_jsonb(const PGresult *r, int row, int col, size_t *len)
{
	const char *p = PQgetvalue(r, row, col);
	int n = PQgetlength(r, row, col);

	if (PQgetisnull(r, row, col) || n < 2 || p[0] != 1) {
		*len = 0;
		return NULL;
	}
	*len = (size_t)n - 1;
	return p + 1;
}

/* The contact's columns from column base on. */
static void decode_contact_at(const PGresult *r, int row, int base, struct contact *c)
{
	c->id = col_text(r, row, base + CONTACT_COL_ID);
	c->email = col_text(r, row, base + CONTACT_COL_EMAIL);
	c->eid = col_text(r, row, base + CONTACT_COL_EID);
	c->name = col_text(r, row, base + CONTACT_COL_NAME);
	c->phone = col_text(r, row, base + CONTACT_COL_PHONE);
	c->company = col_text(r, row, base + CONTACT_COL_COMPANY);
	c->type = col_text(r, row, base + CONTACT_COL_TYPE);
	c->status = col_text(r, row, base + CONTACT_COL_STATUS);
	c->created_at = col_time(r, row, base + CONTACT_COL_CREATED_AT, NULL);
	c->updated_at = col_time(r, row, base + CONTACT_COL_UPDATED_AT, NULL);
	c->deleted_at = col_time(r, row, base + CONTACT_COL_DELETED_AT, &c->has_deleted_at);
	c->last_action = col_text(r, row, base + CONTACT_COL_LAST_ACTION);
	c->fields = col_jsonb(r, row, base + CONTACT_COL_FIELDS, &c->fields_len);
}

static void decode_contact(const PGresult *r, int row, struct contact *c)
{
	decode_contact_at(r, row, 0, c);
}

void store_rows_change(const struct store_rows *rows, size_t i, struct change *ch)
{
	const PGresult *r = rows->res;
	int row = (int)i;

	ch->xid = col_text(r, row, CHANGE_COL_XID);
	ch->seq = col_int(r, row, CHANGE_COL_SEQ);
	ch->op = col_text(r, row, CHANGE_COL_OP);
	ch->id = col_text(r, row, CHANGE_COL_ID);
	ch->at = col_time(r, row, CHANGE_COL_AT, NULL);
	ch->has_contact = !PQgetisnull(r, row, CHANGE_COL_CONTACT + CONTACT_COL_ID);
	if (ch->has_contact)
		decode_contact_at(r, row, CHANGE_COL_CONTACT, &ch->contact);
}

void store_rows_contact(const struct store_rows *rows, size_t i, struct contact *c)
{
	decode_contact(rows->res, (int)i, c);
}

int64_t store_rows_pos(const struct store_rows *rows, size_t i)
{
	return col_int(rows->res, (int)i, PAGE_COL_POS);
}

void store_rows_list(const struct store_rows *rows, size_t i, struct list *l)
{
	const PGresult *r = rows->res;
	int row = (int)i;

	l->id = col_text(r, row, LIST_COL_ID);
	l->name = col_text(r, row, LIST_COL_NAME);
	l->type = col_text(r, row, LIST_COL_TYPE);
	l->count = col_int(r, row, LIST_COL_COUNT);
	l->created_at = col_time(r, row, LIST_COL_CREATED_AT, NULL);
	l->updated_at = col_time(r, row, LIST_COL_UPDATED_AT, NULL);
	l->deleted_at = col_time(r, row, LIST_COL_DELETED_AT, &l->has_deleted_at);
}

void store_rows_field(const struct store_rows *rows, size_t i, struct field_def *f)
{
	const PGresult *r = rows->res;
	int row = (int)i;

	f->name = col_text(r, row, FIELD_COL_NAME);
	f->type = col_text(r, row, FIELD_COL_TYPE);
	f->created_at = col_time(r, row, FIELD_COL_CREATED_AT, NULL);
}

void store_rows_free(struct store_rows *r)
{
	if (!r)
		return;
	PQclear(r->res);
	free(r);
}

/* --- statements --- */

enum store_status store_key_lookup(struct store *s, const char *key_id,
				   struct key_record *out)
{
	const char *params[] = {key_id};
	PGresult *r;
	enum store_status st = run(s, STMT_KEY_LOOKUP, params, true, &r);

	if (st != STORE_OK)
		return st;
	if (PQntuples(r) != 1 || PQgetlength(r, 0, KEY_COL_HASH) != SHA256_LEN) {
		PQclear(r);
		return STORE_NOT_FOUND;
	}
	snprintf(out->org_id, sizeof(out->org_id), "%s", PQgetvalue(r, 0, KEY_COL_ORG_ID));
	snprintf(out->org_name, sizeof(out->org_name), "%s",
		 PQgetvalue(r, 0, KEY_COL_ORG_NAME));
	snprintf(out->key_name, sizeof(out->key_name), "%s",
		 PQgetvalue(r, 0, KEY_COL_KEY_NAME));
	memcpy(out->hash, PQgetvalue(r, 0, KEY_COL_HASH), SHA256_LEN);
	out->cache_epoch = col_int(r, 0, KEY_COL_CACHE_EPOCH);
	out->rate_limit = col_int(r, 0, KEY_COL_RATE_LIMIT);
	PQclear(r);
	return STORE_OK;
}

/* Runs a read whose rows the caller gets. */
static enum store_status read_rows(struct store *s, enum stmt id,
				   const char *const *params, struct store_rows **out)
{
	PGresult *r;
	enum store_status st = run(s, id, params, true, &r);

	*out = st == STORE_OK ? wrap(r) : NULL;
	return st;
}

enum store_status store_contact_by_email(struct store *s, const char *org_id,
					 const char *email_key, bool include_all,
					 struct store_rows **out)
{
	const char *params[] = {org_id, email_key};
	PGresult *r;
	enum store_status st = run(s, STMT_CONTACT_BY_EMAIL, params, true, &r);

	*out = NULL;
	if (st != STORE_OK)
		return st;
	if (!include_all && PQntuples(r) == 1 &&
	    !PQgetisnull(r, 0, CONTACT_COL_STATUS) &&
	    strcmp(PQgetvalue(r, 0, CONTACT_COL_STATUS), "deleted") == 0) {
		PQclear(r);
		r = NULL; /* an empty answer */
	}
	*out = wrap(r);
	return STORE_OK;
}

enum store_status store_contact_by_id(struct store *s, const char *org_id,
				      const char *id, struct store_rows **out)
{
	const char *params[] = {org_id, id};

	return read_rows(s, STMT_CONTACT_BY_ID, params, out);
}

static const char *bool_text(bool v)
{
	return v ? "true" : "false";
}

enum store_status store_contacts_page(struct store *s, const char *org_id,
				      int64_t offset, int limit, bool include_all,
				      struct store_rows **out)
{
	struct page_text t;
	const char *params[] = {org_id, t.offset, t.limit};

	page_text(&t, offset, limit);
	return read_rows(s, include_all ? STMT_CONTACTS_PAGE_ALL : STMT_CONTACTS_PAGE,
			 params, out);
}

enum store_status store_list_members_page(struct store *s, const char *org_id,
					  const char *list_id, int64_t offset,
					  int limit, bool include_all,
					  struct store_rows **out)
{
	struct page_text t;
	const char *params[] = {org_id, list_id, t.offset, t.limit};

	page_text(&t, offset, limit);
	return read_rows(s, include_all ? STMT_LIST_MEMBERS_PAGE_ALL
					: STMT_LIST_MEMBERS_PAGE,
			 params, out);
}

enum store_status store_contacts_updated_since(struct store *s, const char *org_id,
					       const char *since, int64_t offset,
					       int limit, bool include_all,
					       struct store_rows **out)
{
	struct page_text t;
	const char *params[] = {org_id, since, t.offset, t.limit};

	page_text(&t, offset, limit);
	return read_rows(s, include_all ? STMT_CONTACTS_UPDATED_SINCE_ALL
					: STMT_CONTACTS_UPDATED_SINCE,
			 params, out);
}

enum store_status store_contacts_by_eid(struct store *s, const char *org_id,
					const char *eid, int64_t offset, int limit,
					bool include_all, struct store_rows **out)
{
	struct page_text t;
	const char *params[] = {org_id, eid, t.offset, t.limit};

	page_text(&t, offset, limit);
	return read_rows(s, include_all ? STMT_CONTACTS_BY_EID_ALL : STMT_CONTACTS_BY_EID,
			 params, out);
}

enum store_status store_changes_page(struct store *s, const char *org_id,
				     const char *xid, const char *seq, int limit,
				     struct store_rows **out)
{
	char lim[16];
	const char *params[] = {org_id, xid, seq, lim};

	snprintf(lim, sizeof(lim), "%d", limit);
	return read_rows(s, STMT_CHANGES_PAGE, params, out);
}

/* A text[] literal: {"a","b"} with " and \ escaped.  Values are request
 * text, so they travel as one parameter, never as SQL. */
static void array_literal(struct buf *b, const char *const *items, size_t n)
{
	buf_putc(b, '{');
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_putc(b, ',');
		buf_putc(b, '"');
		for (const char *p = items[i]; *p; p++) {
			if (*p == '"' || *p == '\\')
				buf_putc(b, '\\');
			buf_putc(b, *p);
		}
		buf_putc(b, '"');
	}
	buf_putc(b, '}');
}

/* The parameters every contact write takes from its input. */
struct write_params {
	char fields[16];
	struct buf add;
	struct buf remove;
};

static void write_params_init(struct write_params *w, const struct contact_input *in)
{
	snprintf(w->fields, sizeof(w->fields), "%u", in->fields);
	buf_init(&w->add);
	buf_init(&w->remove);
	array_literal(&w->add, in->lists, in->nlists);
	array_literal(&w->remove, in->remove, in->nremove);
}

static void write_params_cleanup(struct write_params *w)
{
	buf_cleanup(&w->add);
	buf_cleanup(&w->remove);
}

static void decode_write(const PGresult *r, int row, struct write_result *out)
{
	out->err = col_text(r, row, WRITE_COL_ERR);
	out->err_field = col_text(r, row, WRITE_COL_ERR_FIELD);
	out->err_detail = col_text(r, row, WRITE_COL_ERR_DETAIL);
	out->action = col_text(r, row, WRITE_COL_ACTION);
	out->has_contact = !out->err && !PQgetisnull(r, row, CONTACT_COL_ID);
	if (out->has_contact)
		decode_contact(r, row, &out->contact);
	out->lists_updated = (int)col_int(r, row, WRITE_COL_LISTS_UPDATED);
	out->lists_removed = (int)col_int(r, row, WRITE_COL_LISTS_REMOVED);
	if (out->has_contact) {
		out->pos = col_int(r, row, WRITE_COL_POS);
		out->email_key = col_text(r, row, WRITE_COL_EMAIL_KEY);
		out->member_of = col_text(r, row, WRITE_COL_MEMBER_OF);
		out->prev_email_key = col_text(r, row, WRITE_COL_PREV_EMAIL_KEY);
		out->prev_status = col_text(r, row, WRITE_COL_PREV_STATUS);
	}
}

void store_rows_write(const struct store_rows *rows, size_t i, struct write_result *out)
{
	memset(out, 0, sizeof(*out));
	decode_write(rows->res, (int)i, out);
}

static enum store_status write_rows(struct store *s, enum stmt id,
				    const char *const *params, struct store_rows **out);

/* Reads the one row of a write function into out (which takes r). */
static enum store_status write_outcome(struct store *s, enum stmt id, PGresult *r,
				       struct write_result *out)
{
	if (PQntuples(r) != 1) {
		PQclear(r);
		set_error(s, stmt_defs[id].name, "expected one row");
		return STORE_ERROR;
	}
	out->rows = wrap(r);
	decode_write(r, 0, out);
	return STORE_OK;
}

enum store_status store_contact_bulk(struct store *s, const char *org_id,
				     const char *rows, bool answer_kept,
				     struct store_rows **out)
{
	const char *params[] = {org_id, rows, answer_kept ? "true" : "false"};

	return write_rows(s, STMT_CONTACT_BULK, params, out);
}

/* A unique violation of the email index: another contact has the email
 * (a concurrent write took it between the check and the update). */
static bool email_conflict(const struct store *s)
{
	return sqlstate_is(s, "23505") && strstr(s->error, "contacts_org_email");
}

enum store_status store_contact_upsert(struct store *s, const char *org_id,
				       const struct contact_input *in,
				       struct write_result *out)
{
	char id[ID_LEN + 1];
	struct write_params w;
	const char *params[15];
	PGresult *r = NULL;
	enum store_status st = STORE_ERROR;
	/* Lists named (and no custom fields): their own statement.  The
	 * request's first statement under an Idempotency-Key: the one that
	 * stores its result too (schema/021). */
	bool lists = in->nlists > 0 && !in->custom, kept = s->claim_pending;
	enum stmt which = kept ? (lists ? STMT_CONTACT_UPSERT_LISTS_KEPT : STMT_CONTACT_UPSERT_KEPT)
			       : (lists ? STMT_CONTACT_UPSERT_LISTS : STMT_CONTACT_UPSERT);

	memset(out, 0, sizeof(*out));
	write_params_init(&w, in);
	params[0] = org_id;
	params[1] = id;
	params[2] = in->email;
	params[3] = in->email_key;
	params[4] = w.fields;
	params[5] = in->eid;
	params[6] = in->name;
	params[7] = in->phone;
	params[8] = in->company;
	params[9] = in->type;
	params[10] = w.add.data;
	params[11] = w.remove.data;
	params[12] = in->custom;
	params[13] = s->claim_key;
	params[14] = s->claim_hash;

	/* A new id colliding with an existing one (1 in 10^16) is retried,
	 * but in a statement of its own only. */
	for (int attempt = 0; attempt < 3; attempt++) {
		if (id_random(id, ID_LEN) < 0) {
			set_error(s, "cannot generate an id", "getrandom failed");
			st = STORE_ERROR;
			break;
		}
		st = run(s, which, params, false, &r);
		if (st != STORE_ERROR || kept || !sqlstate_is(s, "23505") ||
		    !strstr(s->error, "contacts_org_id"))
			break;
	}
	write_params_cleanup(&w);
	if (st != STORE_OK)
		return st;
	return write_outcome(s, which, r, out);
}

enum store_status store_contact_patch(struct store *s, const char *org_id,
				      const char *id, const struct contact_input *in,
				      struct write_result *out)
{
	struct write_params w;
	const char *params[14];
	PGresult *r = NULL;
	enum store_status st;

	memset(out, 0, sizeof(*out));
	write_params_init(&w, in);
	params[0] = org_id;
	params[1] = id;
	params[2] = w.fields;
	params[3] = in->email;
	params[4] = in->email_key;
	params[5] = in->eid;
	params[6] = in->name;
	params[7] = in->phone;
	params[8] = in->company;
	params[9] = in->type;
	params[10] = in->status;
	params[11] = w.add.data;
	params[12] = w.remove.data;
	params[13] = in->custom;
	st = run(s, STMT_CONTACT_PATCH, params, false, &r);
	write_params_cleanup(&w);
	if (st == STORE_ERROR && email_conflict(s)) {
		out->err = "email_taken";
		out->err_field = "email";
		return STORE_OK;
	}
	if (st != STORE_OK)
		return st;
	return write_outcome(s, STMT_CONTACT_PATCH, r, out);
}

enum store_status store_contact_delete(struct store *s, const char *org_id,
				       const char *id, const char *email,
				       bool erase, bool suppress,
				       struct write_result *out)
{
	const char *params[] = {org_id, id, email, bool_text(suppress)};
	enum stmt which = erase ? STMT_CONTACT_ERASE : STMT_CONTACT_DELETE;
	PGresult *r = NULL;
	enum store_status st;

	memset(out, 0, sizeof(*out));
	st = run(s, which, params, false, &r);
	if (st != STORE_OK)
		return st;
	return write_outcome(s, which, r, out);
}

/* The boolean of a one-row result (binary: one byte); false without one. */
static bool row_bool(const PGresult *r)
{
	return PQntuples(r) == 1 && PQgetlength(r, 0, BOOL_COL_VALUE) == 1 &&
	       PQgetvalue(r, 0, BOOL_COL_VALUE)[0] == 1;
}

/* The one boolean a statement returns. */
static enum store_status run_bool(struct store *s, enum stmt id,
				  const char *const *params, bool *out)
{
	PGresult *r;
	enum store_status st = run(s, id, params, false, &r);

	if (st != STORE_OK)
		return st;
	*out = row_bool(r);
	PQclear(r);
	return STORE_OK;
}

enum store_status store_suppression_lift(struct store *s, const char *org_id,
					 const char *email, bool *lifted)
{
	const char *params[] = {org_id, email};

	return run_bool(s, STMT_SUPPRESSION_LIFT, params, lifted);
}

enum store_status store_list_create(struct store *s, const char *org_id,
				    const struct list_input *in,
				    struct store_rows **out)
{
	char id[ID_LEN + 1];
	const char *params[] = {id, org_id, in->name, in->type};
	PGresult *r = NULL;
	enum store_status st = STORE_ERROR;

	*out = NULL;
	for (int attempt = 0; attempt < 3; attempt++) {
		if (id_random(id, ID_LEN) < 0) {
			set_error(s, "cannot generate an id", "getrandom failed");
			return STORE_ERROR;
		}
		st = run(s, STMT_LIST_CREATE, params, false, &r);
		if (st != STORE_ERROR || !sqlstate_is(s, "23505"))
			break;
	}
	if (st == STORE_OK)
		*out = wrap(r);
	return st;
}

enum store_status store_list_by_id(struct store *s, const char *org_id,
				   const char *id, struct store_rows **out)
{
	const char *params[] = {org_id, id};

	return read_rows(s, STMT_LIST_BY_ID, params, out);
}

/* Runs a write whose rows the caller gets (no retry on a lost connection:
 * it may have committed). */
static enum store_status write_rows(struct store *s, enum stmt id,
				    const char *const *params, struct store_rows **out)
{
	PGresult *r;
	enum store_status st = run(s, id, params, false, &r);

	*out = st == STORE_OK ? wrap(r) : NULL;
	return st;
}

enum store_status store_list_patch(struct store *s, const char *org_id,
				   const char *id, const struct list_input *in,
				   struct store_rows **out)
{
	const char *params[] = {org_id, id, in->name, in->type};

	return write_rows(s, STMT_LIST_PATCH, params, out);
}

enum store_status store_list_delete(struct store *s, const char *org_id,
				    const char *id, struct store_rows **out)
{
	const char *params[] = {org_id, id};

	return write_rows(s, STMT_LIST_DELETE, params, out);
}

enum store_status store_lists_page(struct store *s, const char *org_id,
				   int64_t offset, int limit, const char *type,
				   struct store_rows **out)
{
	struct page_text t;
	const char *params[] = {org_id, t.offset, t.limit, type};

	page_text(&t, offset, limit);
	return read_rows(s, type ? STMT_LISTS_PAGE_TYPE : STMT_LISTS_PAGE, params, out);
}

enum store_status store_field_create(struct store *s, const char *org_id,
				     const char *name, const char *type,
				     struct store_rows **out)
{
	const char *params[] = {org_id, name, type};

	return write_rows(s, STMT_FIELD_CREATE, params, out);
}

enum store_status store_fields_list(struct store *s, const char *org_id,
				    struct store_rows **out)
{
	const char *params[] = {org_id};

	return read_rows(s, STMT_FIELDS_LIST, params, out);
}

enum store_status store_field_delete(struct store *s, const char *org_id,
				     const char *name, bool *deleted)
{
	const char *params[] = {org_id, name};

	return run_bool(s, STMT_FIELD_DELETE, params, deleted);
}

/* run() of a statement whose result is not read. */
static enum store_status run_command(struct store *s, enum stmt id,
				     const char *const *params, bool retry)
{
	PGresult *r;
	enum store_status st = run(s, id, params, retry, &r);

	PQclear(r);
	return st;
}

enum store_status store_cache_epoch_bump(struct store *s, const char *org_id)
{
	const char *params[] = {org_id};

	return run_command(s, STMT_CACHE_EPOCH_BUMP, params, true);
}

enum store_status store_backend(struct store *s, struct store_backend *out)
{
	if (!s->conn && connect_and_prepare(s) != STORE_OK)
		return STORE_UNAVAILABLE;
	*out = s->backend;
	return STORE_OK;
}

enum store_status store_end_backend(struct store *s, const struct store_backend *b)
{
	char pid[16];
	const char *params[] = {pid, b->start};
	PGresult *r;
	enum store_status st;
	bool gone;

	snprintf(pid, sizeof(pid), "%d", (int)b->pid);
	st = run(s, STMT_END_BACKEND, params, true, &r);
	if (st != STORE_OK)
		return st;
	gone = row_bool(r);
	PQclear(r);
	if (!gone) {
		set_error(s, "a server process did not end", "still running after 5 s");
		return STORE_ERROR;
	}
	return STORE_OK;
}

void store_set_application_name(struct store *s, const char *name)
{
	snprintf(s->app_name, sizeof(s->app_name), "%s", name);
}

/* A binary int4 or bool of a result row; false when it is not one. */
static bool col_int4(const PGresult *r, int row, int col, int *out)
{
	uint32_t v;

	if (PQgetisnull(r, row, col) || PQgetlength(r, row, col) != 4)
		return false;
	memcpy(&v, PQgetvalue(r, row, col), 4);
	*out = (int)(int32_t)ntohl(v);
	return true;
}

static bool col_bool(const PGresult *r, int row, int col)
{
	return PQgetlength(r, row, col) == 1 && PQgetvalue(r, row, col)[0] == 1;
}

static void col_copy(const PGresult *r, int row, int col, char *out, size_t n)
{
	snprintf(out, n, "%s", PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col));
}

enum store_status store_host_beat(struct store *s, const struct store_host *h,
				  bool *made, int *auth_ms)
{
	char lease[16], auth[16];
	const char *params[] = {h->id, h->name, lease, auth};
	PGresult *r;
	enum store_status st;

	snprintf(lease, sizeof(lease), "%d", h->lease_ms);
	snprintf(auth, sizeof(auth), "%d", h->auth_cache_ms);
	st = run(s, STMT_HOST_BEAT, params, true, &r);
	if (st != STORE_OK)
		return st;
	if (PQntuples(r) != 1 || !col_int4(r, 0, BEAT_COL_AUTH_MS, auth_ms)) {
		set_error(s, "host_beat", "unexpected result");
		PQclear(r);
		return STORE_ERROR;
	}
	*made = col_bool(r, 0, BEAT_COL_NEW);
	PQclear(r);
	return STORE_OK;
}

enum store_status store_host_claim(struct store *s, const char *host_id, const char *org_id)
{
	const char *params[] = {org_id, host_id};
	enum store_status st;

	if (!s->claim_pending)
		return run_command(s, STMT_HOST_CLAIM, params, !s->in_tx);
	/* Before a keyed request's first statement, nothing of its
	 * transaction sent yet: a statement of its own, committed before the
	 * write (as a claim may be), so that the write still goes with the
	 * key's lock alone (STMT_CONTACT_UPSERT_KEPT). */
	s->claim_pending = false;
	s->in_tx = false;
	st = run_command(s, STMT_HOST_CLAIM, params, true);
	s->claim_pending = true;
	s->in_tx = true;
	return st;
}

enum store_status store_host_take_up(struct store *s, const char *self_id, int64_t steady_ms,
				     char *gone_id, char *gone_name)
{
	char steady[24];
	const char *params[] = {self_id, steady};
	PGresult *r = NULL;
	enum store_status st;
	bool ended;

	gone_id[0] = gone_name[0] = '\0';
	snprintf(steady, sizeof(steady), "%lld",
		 (long long)(steady_ms > INT32_MAX ? INT32_MAX : steady_ms));
	if (s->in_tx)
		return STORE_ERROR;
	st = simple(s, "BEGIN");
	if (st != STORE_OK)
		return st;
	s->in_tx = true;
	st = run(s, STMT_HOST_END, params, false, &r);
	if (st != STORE_OK || PQntuples(r) != 1)
		goto out; /* none to take up, or failed */
	col_copy(r, 0, END_COL_HOST_ID, gone_id, STORE_HOST_ID_MAX);
	col_copy(r, 0, END_COL_HOST_NAME, gone_name, STORE_HOST_ID_MAX);
	ended = col_bool(r, 0, END_COL_GONE);
	PQclear(r);
	r = NULL;
	if (!ended) {
		set_error(s, "host_end", "a server process of the pool did not end");
		st = STORE_ERROR;
		goto out;
	}
	params[0] = gone_id;
	st = run(s, STMT_HOST_FORGET, params, false, &r);
	if (st == STORE_OK) {
		st = simple(s, "COMMIT");
		s->in_tx = false;
		PQclear(r);
		if (st != STORE_OK)
			gone_id[0] = '\0';
		return st;
	}
out:
	PQclear(r);
	if (st != STORE_OK)
		gone_id[0] = '\0';
	store_rollback(s);
	return st;
}

enum store_status store_host_release(struct store *s, const char *host_id)
{
	const char *params[] = {host_id};

	return run_command(s, STMT_HOST_RELEASE, params, true);
}

enum store_status store_feed_expired(struct store *s, const char *org_id,
				     const char *xid, const char *seq, bool *expired)
{
	const char *params[] = {org_id, xid, seq};

	*expired = false;
	return run_bool(s, STMT_FEED_EXPIRED, params, expired);
}

/* BEGIN, COMMIT, ROLLBACK: no parameters, no results. */
static enum store_status simple(struct store *s, const char *sql)
{
	PGresult *r;
	bool ok;

	if (s->claim_pending) {
		/* The claim has not been sent: send and read it first. */
		(void)run_pipelined(s, STMT__COUNT, NULL, false, &r);
	}
	if (!s->conn) {
		if (s->in_tx || connect_and_prepare(s) != STORE_OK)
			return STORE_UNAVAILABLE;
	}
	r = PQexec(s->conn, sql);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok) {
		set_error(s, sql, r ? PQresultErrorMessage(r) : PQerrorMessage(s->conn));
		s->errors++;
	}
	PQclear(r);
	if (ok)
		return STORE_OK;
	if (PQstatus(s->conn) == CONNECTION_BAD) {
		disconnect(s);
		return STORE_UNAVAILABLE;
	}
	return STORE_ERROR;
}

void store_rollback(struct store *s)
{
	/* A claim not sent has opened nothing. */
	if (s->conn && s->in_tx && !s->claim_pending)
		(void)simple(s, "ROLLBACK");
	s->in_tx = false;
	s->claim_pending = false;
	s->claim_busy = false;
	s->kept = KEPT_NONE;
	PQclear(s->claim);
	s->claim = NULL;
}

bool store_in_transaction(const struct store *s)
{
	return s->in_tx;
}

enum store_status store_idem_send(struct store *s, const char *org_id,
				  const char *key, const char *hash)
{
	s->sqlstate[0] = '\0';
	if (!s->conn && connect_and_prepare(s) != STORE_OK)
		return STORE_UNAVAILABLE;
	PQclear(s->claim);
	s->claim = NULL;
	s->claim_org = org_id;
	s->claim_key = key;
	s->claim_hash = hash;
	s->claim_pending = true;
	s->claim_st = STORE_UNAVAILABLE; /* until it is read */
	s->claim_busy = false;
	s->kept = KEPT_NONE;
	s->in_tx = true;
	return STORE_OK;
}

enum store_status store_idem_locked(struct store *s, bool *locked)
{
	PGresult *r;

	*locked = false;
	if (s->claim_pending)
		(void)run_pipelined(s, STMT__COUNT, NULL, false, &r);
	if (s->claim_busy)
		return STORE_OK;
	r = s->claim;
	s->claim = NULL;
	if (!r)
		return s->claim_st != STORE_OK ? s->claim_st : STORE_ERROR;
	if (PQntuples(r) != 1) {
		PQclear(r);
		set_error(s, stmt_defs[STMT_IDEM_CLAIM].name, "expected one row");
		return STORE_ERROR;
	}
	*locked = row_bool(r);
	PQclear(r);
	return STORE_OK;
}

bool store_idem_taken(const struct store *s)
{
	return s->claim_busy || s->kept == KEPT_TAKEN;
}

bool store_idem_kept(const struct store *s)
{
	return s->kept != KEPT_NONE;
}

enum store_status store_idem_commit(struct store *s, const char *org_id,
				   const char *key, const char *hash, int status,
				   const char *location, const char *body,
				   const char *contact_ids, bool *taken)
{
	char st_text[16];
	const char *params[] = {org_id, key, hash, st_text, location, body, contact_ids};
	PGresult *r;
	enum store_status st;

	*taken = false;
	if (s->kept != KEPT_NONE) {
		/* The write stored its result, and its transaction ended. */
		*taken = s->kept == KEPT_TAKEN;
		s->kept = KEPT_NONE;
		return STORE_OK;
	}
	snprintf(st_text, sizeof(st_text), "%d", status);
	st = run_pipelined(s, STMT_IDEM_SAVE, params, true, &r);
	PQclear(r);
	/* COMMIT ran and ended the transaction, or the answer failed and the
	 * transaction waits for the caller's rollback. */
	if (st == STORE_OK || !s->conn)
		s->in_tx = false;
	if (st == STORE_ERROR && sqlstate_is(s, SQLSTATE_KEY_TAKEN)) {
		*taken = true;
		return STORE_OK;
	}
	return st;
}

enum store_status store_idem_answer(struct store *s, const char *org_id,
				   const char *key, const char *hash,
				   struct idem_answer *out)
{
	const char *params[] = {org_id, key, hash};
	PGresult *r;
	enum store_status st;

	memset(out, 0, sizeof(*out));
	st = run(s, STMT_IDEM_ANSWER, params, true, &r);
	if (st != STORE_OK)
		return st;
	if (PQntuples(r) != 1) {
		/* Gone since (expired and pruned): the caller's retry runs. */
		PQclear(r);
		out->state = IDEM_BUSY;
		return STORE_OK;
	}
	out->rows = wrap(r);
	out->state = col_bool(r, 0, IDEM_COL_SAME) ? IDEM_REPLAY : IDEM_MISMATCH;
	out->has_write = col_bool(r, 0, IDEM_COL_RESULT);
	if (out->has_write)
		decode_write(r, 0, &out->write);
	out->status = (int)col_int(r, 0, IDEM_COL_STATUS);
	out->location = col_text(r, 0, IDEM_COL_LOCATION);
	out->body = col_text(r, 0, IDEM_COL_BODY);
	return STORE_OK;
}
