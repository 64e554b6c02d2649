/* store_sql.h - every SQL statement the service runs, named once.
 *
 * store.c prepares each of them once per connection.  Parameters are always
 * passed separately ($1, $2, ...); no statement is ever built from request
 * text.  Results come back in binary format (see store.c for the decoding).
 */
#ifndef CONTACTS_STORE_SQL_H
#define CONTACTS_STORE_SQL_H

/* The contact object's columns, in the order store.c decodes them. */
#define CONTACT_COLUMNS                                                    \
	"id, email, eid, name, phone, company, type, status, created_at, " \
	"updated_at, deleted_at, last_action"

#define LIST_COLUMNS \
	"id, name, type, member_count, created_at, updated_at, deleted_at"

enum stmt {
	STMT_PING,
	STMT_KEY_LOOKUP,
	STMT_CONTACT_BY_EMAIL,
	STMT_CONTACTS_BY_POS,
	STMT_CONTACTS_LIVE,
	STMT_CONTACT_UPSERT,
	STMT_LIST_CREATE,
	STMT_LISTS_PAGE,
	STMT_LISTS_PAGE_TYPE,
	STMT_CACHE_EPOCH_BUMP,
	STMT_BACKEND_START,
	STMT_END_BACKEND,
	STMT__COUNT,
};

struct stmt_def {
	const char *name;
	int nparams;
	const char *sql;
};

static const struct stmt_def stmt_defs[STMT__COUNT] = {
	[STMT_PING] = {"ping", 0, "SELECT 1"},
	/* $1 key id -> the key's organization and hash; revoked keys are gone. */
	[STMT_KEY_LOOKUP] = {"key_lookup", 1,
		"SELECT k.org_id, o.name, k.name, k.key_hash, o.deleted_count, "
		"o.cache_epoch, coalesce(k.rate_limit, -1) "
		"FROM api_keys k JOIN organizations o ON o.id = k.org_id "
		"WHERE k.id = $1 AND k.revoked_at IS NULL"},
	/* $1 org, $2 email key: the unique index; store.c drops a deleted
	 * contact unless it was asked for.  ICU folds the case; the result is
	 * compared under the column's collation, or the index could not serve. */
	[STMT_CONTACT_BY_EMAIL] = {"contact_by_email", 2,
		"SELECT " CONTACT_COLUMNS " FROM contacts "
		"WHERE org_id = $1 AND email_key = "
		"(lower($2 COLLATE \"und-x-icu\") COLLATE \"default\")"},
	/* $1 org, $2 offset, $3 limit: positions are dense, so offset N is
	 * pos > N (used while the organization has no deleted contact, or
	 * when deleted ones are asked for). */
	[STMT_CONTACTS_BY_POS] = {"contacts_by_pos", 3,
		"SELECT " CONTACT_COLUMNS " FROM contacts "
		"WHERE org_id = $1 AND pos > $2::bigint "
		"ORDER BY pos LIMIT $3::int"},
	/* $1 org, $2 offset, $3 limit, skipping deleted contacts. */
	[STMT_CONTACTS_LIVE] = {"contacts_live", 3,
		"SELECT " CONTACT_COLUMNS " FROM contacts "
		"WHERE org_id = $1 AND status <> 'deleted' "
		"ORDER BY pos OFFSET $2::bigint LIMIT $3::int"},
	/* See schema/001_init.sql for the function. */
	[STMT_CONTACT_UPSERT] = {"contact_upsert", 11,
		"SELECT " CONTACT_COLUMNS ", action, lists_updated, unknown_lists "
		"FROM contact_upsert($1, $2, $3, $4, $5::int, $6, $7, $8, $9, $10, "
		"$11::text[])"},
	/* $1 id, $2 org, $3 name, $4 type */
	[STMT_LIST_CREATE] = {"list_create", 4,
		"INSERT INTO lists (id, org_id, name, type) VALUES ($1, $2, $3, $4) "
		"RETURNING " LIST_COLUMNS},
	/* $1 org, $2 offset, $3 limit */
	[STMT_LISTS_PAGE] = {"lists_page", 3,
		"SELECT " LIST_COLUMNS " FROM lists WHERE org_id = $1 "
		"ORDER BY seq OFFSET $2::bigint LIMIT $3::int"},
	/* $1 org, $2 offset, $3 limit, $4 type */
	[STMT_LISTS_PAGE_TYPE] = {"lists_page_type", 4,
		"SELECT " LIST_COLUMNS " FROM lists WHERE org_id = $1 AND type = $4 "
		"ORDER BY seq OFFSET $2::bigint LIMIT $3::int"},
	/* $1 org: makes every cached entry of the organization unreachable. */
	[STMT_CACHE_EPOCH_BUMP] = {"cache_epoch_bump", 1,
		"UPDATE organizations SET cache_epoch = cache_epoch + 1 "
		"WHERE id = $1"},
	/* This connection's server process, named so that no later process
	 * with the same pid can be mistaken for it. */
	[STMT_BACKEND_START] = {"backend_start", 0,
		"SELECT backend_start::text FROM pg_stat_activity "
		"WHERE pid = pg_backend_pid()"},
	/* $1 pid, $2 backend_start: ends that server process, waiting up to
	 * 5 s for it to go; true when it is gone (or was already). */
	[STMT_END_BACKEND] = {"end_backend", 2,
		"SELECT coalesce(bool_and(pg_terminate_backend(pid, 5000)), true) "
		"FROM pg_stat_activity WHERE pid = $1::integer "
		"AND backend_start::text = $2"},
};

#endif
