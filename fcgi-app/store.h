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

/* New store for conninfo; does not connect yet.  Never NULL. */
struct store *store_new(const char *conninfo);
void store_free(struct store *s);
/* Last error, for logs (may name the server, never request data). */
const char *store_error(const struct store *s);
/* Counts statements that failed, for /metrics. */
uint64_t store_error_count(const struct store *s);

enum store_status store_ping(struct store *s);

struct key_record {
	char org_id[ID_LEN + 1];
	char org_name[1024];
	char key_name[1024];
	uint8_t hash[SHA256_LEN];
	int64_t deleted_count;
	int64_t cache_epoch;
	int64_t rate_limit; /* requests per second; 0: none; -1: the default */
};

/* The live (not revoked) key with this id; STORE_NOT_FOUND otherwise. */
enum store_status store_key_lookup(struct store *s, const char *key_id,
				   struct key_record *out);

/* Contacts: *out is new (free with store_rows_free) when STORE_OK. */
enum store_status store_contact_by_email(struct store *s, const char *org_id,
					 const char *email_key, bool include_all,
					 struct store_rows **out);
/* by_pos: positions are offsets (no deleted contact is to be skipped). */
enum store_status store_contacts_page(struct store *s, const char *org_id,
				      int64_t offset, int limit, bool by_pos,
				      struct store_rows **out);

struct upsert_result {
	struct contact contact; /* borrowed from rows */
	bool created;
	int lists_updated;
	const char *unknown_lists; /* non-NULL: refused, nothing written */
	struct store_rows *rows;   /* owned by the caller */
};
enum store_status store_contact_upsert(struct store *s, const char *org_id,
				       const struct contact_input *in,
				       struct upsert_result *out);

enum store_status store_list_create(struct store *s, const char *org_id,
				    const struct list_input *in,
				    struct store_rows **out);
/* type may be NULL for every type. */
enum store_status store_lists_page(struct store *s, const char *org_id,
				   int64_t offset, int limit, const char *type,
				   struct store_rows **out);

enum store_status store_cache_epoch_bump(struct store *s, const char *org_id);

/* Which PostgreSQL server process serves this store: connects if need be. */
#define STORE_BACKEND_START_LEN 48
struct store_backend {
	int32_t pid;
	char start[STORE_BACKEND_START_LEN]; /* backend_start, as text */
};
enum store_status store_backend(struct store *s, struct store_backend *out);
/* Ends that server process (another store's, gone or not) and waits for
 * it: once this returns STORE_OK, nothing it was running can commit. */
enum store_status store_end_backend(struct store *s, const struct store_backend *b);

size_t store_rows_count(const struct store_rows *r);
void store_rows_contact(const struct store_rows *r, size_t i, struct contact *out);
void store_rows_list(const struct store_rows *r, size_t i, struct list *out);
void store_rows_free(struct store_rows *r);

#endif
