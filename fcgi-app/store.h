/* store.h - PostgreSQL, as the service sees it.
 *
 * One struct store per worker, holding one connection.  Every statement is
 * prepared once per connection; a lost connection is re-established on the
 * next call (with a short backoff while the server stays unreachable).
 * PGresult never leaves store.c: rows come back in a struct store_rows and
 * are read through the accessors below.
 */
#ifndef CONTACTS_STORE_H
#define CONTACTS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "id.h"
#include "model.h"
#include "sha256.h"

enum store_status {
	STORE_OK = 0,
	STORE_NOT_FOUND = 1,
	STORE_UNAVAILABLE = -1, /* cannot reach PostgreSQL: 503 */
	STORE_ERROR = -2,       /* the statement failed: 500 */
};

struct store;
struct store_rows;

/* New store for conninfo; does not connect yet.  Never NULL.  Its
 * connections run with statement_timeout_ms (0: none set, the server's default); a
 * statement cancelled by it answers STORE_UNAVAILABLE. */
struct store *store_new(const char *conninfo, int statement_timeout_ms);
void store_free(struct store *s);
/* Last error, for logs (may name the server, never request data). */
const char *store_error(const struct store *s);
/* Counts statements that failed, for /metrics. */
uint64_t store_error_count(const struct store *s);

enum store_status store_ping(struct store *s) __attribute__((warn_unused_result));

struct key_record {
	char org_id[ID_LEN + 1];
	char org_name[1024];
	char key_name[1024];
	uint8_t hash[SHA256_LEN];
	int64_t cache_epoch;
	int64_t rate_limit; /* requests per second; 0: none; -1: the default */
};

/* The live (not revoked) key with this id; STORE_NOT_FOUND otherwise. */
enum store_status store_key_lookup(struct store *s, const char *key_id,
				   struct key_record *out)
	__attribute__((warn_unused_result));

/* Reads: *out is new (free with store_rows_free) when STORE_OK. */
enum store_status store_contact_by_email(struct store *s, const char *org_id,
					 const char *email_key, bool include_all,
					 struct store_rows **out)
	__attribute__((warn_unused_result));
enum store_status store_contact_by_id(struct store *s, const char *org_id,
				      const char *id, struct store_rows **out)
	__attribute__((warn_unused_result));
/* offset counts the contacts the listing shows (not deleted ones, or all
 * with include_all), in creation order. */
enum store_status store_contacts_page(struct store *s, const char *org_id,
				      int64_t offset, int limit, bool include_all,
				      struct store_rows **out)
	__attribute__((warn_unused_result));
/* The same over one list's members, in the order they were added. */
enum store_status store_list_members_page(struct store *s, const char *org_id,
					  const char *list_id, int64_t offset,
					  int limit, bool include_all,
					  struct store_rows **out)
	__attribute__((warn_unused_result));

/* Contacts whose updated_at >= since (TIMEFMT_PG form), or whose eid is
 * eid, in creation order. */
enum store_status store_contacts_updated_since(struct store *s, const char *org_id,
					       const char *since, int64_t offset,
					       int limit, bool include_all,
					       struct store_rows **out)
	__attribute__((warn_unused_result));
enum store_status store_contacts_by_eid(struct store *s, const char *org_id,
					const char *eid, int64_t offset, int limit,
					bool include_all, struct store_rows **out)
	__attribute__((warn_unused_result));

/* The change feed after the cursor (xid, seq are its decimal parts). */
enum store_status store_changes_page(struct store *s, const char *org_id,
				     const char *xid, const char *seq, int limit,
				     struct store_rows **out)
	__attribute__((warn_unused_result));
/* *expired: the retention sweep removed entries after the cursor. */
enum store_status store_feed_expired(struct store *s, const char *org_id,
				     const char *xid, const char *seq, bool *expired)
	__attribute__((warn_unused_result));

struct change {
	const char *xid;
	int64_t seq;
	const char *op;
	const char *id;
	int64_t at;
	struct contact contact; /* when has_contact */
	bool has_contact;
};
void store_rows_change(const struct store_rows *r, size_t i, struct change *out);

/* What a contact write did, or why it refused to (err non-NULL: nothing
 * was written).  Strings are borrowed from rows. */
struct write_result {
	struct contact contact; /* when has_contact */
	bool has_contact;
	/* IMPORT_CREATE, IMPORT_UPDATE, DELETE, ERASE, or NOOP (a delete of
	 * a contact already deleted) */
	const char *action;
	int lists_updated;
	int lists_removed;
	/* unknown_list, unknown_field, invalid_field, email_taken,
	 * suppressed, not_found */
	const char *err;
	const char *err_field;  /* the request's field, or a custom field's name */
	const char *err_detail; /* unknown list ids; a custom field's type */
	/* For the cache (writes.h), when has_contact: the contact's position
	 * and email key; after an update or a delete the lists it is a member
	 * of ("a,b", NULL: none; a create is on the lists it asked for);
	 * its email key and status before the write (NULL: not known). */
	int64_t pos;
	const char *email_key;
	const char *member_of;
	const char *prev_email_key;
	const char *prev_status;
	struct store_rows *rows; /* owned by the caller: store_rows_free() */
};

/* POST /contacts (and a bulk row): create or update by email. */
enum store_status store_contact_upsert(struct store *s, const char *org_id,
				       const struct contact_input *in,
				       struct write_result *out)
	__attribute__((warn_unused_result));
/* POST /contacts/bulk: rows is the JSON array of the valid rows
 * (codec_bulk_rows()); *out has one write result per row, in order
 * (store_rows_write()).  One transaction.  answer_kept: the answer is
 * stored (an Idempotency-Key), so a row that changes nothing is told so
 * under its row lock, not from the version the request first read
 * (schema/020_bulk_noop_snapshot.sql). */
enum store_status store_contact_bulk(struct store *s, const char *org_id,
				     const char *rows, bool answer_kept,
				     struct store_rows **out)
	__attribute__((warn_unused_result));
/* Row i of a bulk's results; strings borrowed from r (out->rows stays
 * NULL: r owns them). */
void store_rows_write(const struct store_rows *r, size_t i, struct write_result *out);

/* PATCH /contacts/{id}. */
enum store_status store_contact_patch(struct store *s, const char *org_id,
				      const char *id, const struct contact_input *in,
				      struct write_result *out)
	__attribute__((warn_unused_result));
/* DELETE by id, or by email when id is NULL: a soft delete, or an erasure
 * (with a suppression when suppress). */
enum store_status store_contact_delete(struct store *s, const char *org_id,
				       const char *id, const char *email,
				       bool erase, bool suppress,
				       struct write_result *out)
	__attribute__((warn_unused_result));
/* *lifted: whether the email was suppressed. */
enum store_status store_suppression_lift(struct store *s, const char *org_id,
					 const char *email, bool *lifted)
	__attribute__((warn_unused_result));

/* Lists: *out is new when STORE_OK (no row: no such list). */
enum store_status store_list_create(struct store *s, const char *org_id,
				    const struct list_input *in,
				    struct store_rows **out)
	__attribute__((warn_unused_result));
enum store_status store_list_by_id(struct store *s, const char *org_id,
				   const char *id, struct store_rows **out)
	__attribute__((warn_unused_result));
/* No row: no such list, or it is deleted. */
enum store_status store_list_patch(struct store *s, const char *org_id,
				   const char *id, const struct list_input *in,
				   struct store_rows **out)
	__attribute__((warn_unused_result));
enum store_status store_list_delete(struct store *s, const char *org_id,
				    const char *id, struct store_rows **out)
	__attribute__((warn_unused_result));
/* type may be NULL for every type. */
enum store_status store_lists_page(struct store *s, const char *org_id,
				   int64_t offset, int limit, const char *type,
				   struct store_rows **out)
	__attribute__((warn_unused_result));

/* Custom fields.  create: no row when the name is taken. */
enum store_status store_field_create(struct store *s, const char *org_id,
				     const char *name, const char *type,
				     struct store_rows **out)
	__attribute__((warn_unused_result));
enum store_status store_fields_list(struct store *s, const char *org_id,
				    struct store_rows **out)
	__attribute__((warn_unused_result));
enum store_status store_field_delete(struct store *s, const char *org_id,
				     const char *name, bool *deleted)
	__attribute__((warn_unused_result));

/* One transaction around several statements (an idempotent request):
 * opened by store_idem_send(), ended by store_idem_commit() or
 * store_rollback().  While it is open no statement is retried (an error
 * ends it), and store_in_transaction() is true. */
void store_rollback(struct store *s);
bool store_in_transaction(const struct store *s);

/* BEGIN and the key's lock (schema/018), not sent yet: they travel with
 * the request's first statement, in its round trip (or with
 * store_idem_locked(), when the request runs none).  When that statement
 * is POST /contacts' upsert, the lock goes without BEGIN, with the
 * statement that also stores the write's result beside the key, in one
 * implicit transaction (schema/021_idempotency_results.sql): the
 * transaction has ended when the statement returns (store_idem_kept()).
 * org_id, key and hash ("\\x" and 64 hex digits, the request's) are
 * borrowed until the transaction ends.  On failure the caller rolls back
 * (store_rollback()). */
enum store_status store_idem_send(struct store *s, const char *org_id,
				  const char *key, const char *hash)
	__attribute__((warn_unused_result));
/* Whether the lock was taken (false: another request with the key is
 * running), reading it now if no statement has.  Whatever the request ran
 * since is in the transaction: unless *locked the caller rolls it back;
 * on failure too. */
enum store_status store_idem_locked(struct store *s, bool *locked)
	__attribute__((warn_unused_result));
/* The key's lock was another request's, or the key had an answer when
 * the request's write tried to store its own: the statements failed for
 * that (the request's answer is the key's, not an error to log). */
bool store_idem_taken(const struct store *s);
/* The request's write stored its result and ended its transaction,
 * committed or (the key had an answer) rolled back: store_idem_commit()
 * says which, without sending anything. */
bool store_idem_kept(const struct store *s);
/* The answer stored and COMMIT, in one round trip.  hash: "\\x" and 64
 * hex digits; contact_ids: the ids of the contacts the answer shows as a
 * text[] literal, or NULL to have PostgreSQL find them in body.  *taken:
 * the key has a live answer already, nothing was committed, and the
 * caller rolls back and reads it (store_idem_answer()).  On a failure
 * other than STORE_UNAVAILABLE the caller rolls back. */
enum store_status store_idem_commit(struct store *s, const char *org_id,
				   const char *key, const char *hash, int status,
				   const char *location, const char *body,
				   const char *contact_ids, bool *taken)
	__attribute__((warn_unused_result));

enum idem_state { IDEM_REPLAY, IDEM_MISMATCH, IDEM_BUSY };
struct idem_answer {
	enum idem_state state;
	/* A stored write result (schema/021): the answer is built from it
	 * again, as the first time; else status, location and body. */
	bool has_write;
	struct write_result write; /* strings borrowed from rows */
	int status;
	const char *location; /* borrowed from rows, may be NULL */
	const char *body;     /* borrowed from rows */
	struct store_rows *rows; /* owned by the caller */
};
/* The key's live answer, outside a transaction: IDEM_REPLAY (the same
 * request's, hash), IDEM_MISMATCH (another request's), or IDEM_BUSY when
 * there is none any more (expired: a retry runs). */
enum store_status store_idem_answer(struct store *s, const char *org_id,
				   const char *key, const char *hash,
				   struct idem_answer *out)
	__attribute__((warn_unused_result));

enum store_status store_cache_epoch_bump(struct store *s, const char *org_id)
	__attribute__((warn_unused_result));

/* Which PostgreSQL server process serves this store: connects if need be. */
#define STORE_BACKEND_START_LEN 48
struct store_backend {
	int32_t pid;
	char start[STORE_BACKEND_START_LEN]; /* backend_start, as text */
};
enum store_status store_backend(struct store *s, struct store_backend *out)
	__attribute__((warn_unused_result));
/* Ends that server process (another store's, gone or not) and waits for
 * it: once this returns STORE_OK, nothing it was running can commit. */
enum store_status store_end_backend(struct store *s, const struct store_backend *b)
	__attribute__((warn_unused_result));

/* The pools' leases (hostlease.h; schema/014_host_leases.sql). */
struct store_host {
	const char *id;   /* the pool's: "contacts-fcgi <id>" names its connections */
	const char *name; /* host_name, for people */
	int lease_ms;
	int auth_cache_ms;
};
/* Renews h's lease.  *made: the row was not there (the pool's first
 * renewal, or another pool took it up); *auth_ms: the longest
 * auth_cache_ms among the pools whose lease runs, h's included. */
enum store_status store_host_beat(struct store *s, const struct store_host *h,
				  bool *made, int *auth_ms)
	__attribute__((warn_unused_result));
/* h writes to org_id (in the write's transaction, when one is open). */
enum store_status store_host_claim(struct store *s, const char *host_id, const char *org_id)
	__attribute__((warn_unused_result));
/* Takes up one pool other than self_id whose lease ran out, if its lease
 * is no longer than steady_ms (how long self_id has renewed its own
 * without a break): ends its server processes, bumps the cache epoch of
 * the organizations it wrote to and deletes its rows, in one
 * transaction.  *gone_id ("" when there was none to take up) and
 * *gone_name name it (each at least STORE_HOST_ID_MAX bytes). */
#define STORE_HOST_ID_MAX 64
enum store_status store_host_take_up(struct store *s, const char *self_id, int64_t steady_ms,
				     char *gone_id, char *gone_name)
	__attribute__((warn_unused_result));
/* Deletes host_id's rows: its pool stops with nothing unsettled. */
enum store_status store_host_release(struct store *s, const char *host_id)
	__attribute__((warn_unused_result));
/* The application_name of this store's connections (default
 * "contacts-fcgi"); before the first statement. */
void store_set_application_name(struct store *s, const char *name);

size_t store_rows_count(const struct store_rows *r);
void store_rows_contact(const struct store_rows *r, size_t i, struct contact *out);
/* A row's position, on a page of store_contacts_page(). */
int64_t store_rows_pos(const struct store_rows *r, size_t i);
void store_rows_list(const struct store_rows *r, size_t i, struct list *out);
void store_rows_field(const struct store_rows *r, size_t i, struct field_def *out);
void store_rows_free(struct store_rows *r);

#endif
