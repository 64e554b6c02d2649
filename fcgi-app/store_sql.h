/* store_sql.h - every SQL statement the service runs, named once.
 *
 * store.c prepares each of them once per connection.  Parameters are always
 * passed separately ($1, $2, ...); no statement is ever built from request
 * text.  Results come back in binary format (see store.c for the decoding).
 */
#ifndef CONTACTS_STORE_SQL_H
#define CONTACTS_STORE_SQL_H

/* The contact object's columns, in the order of enum contact_col. */
#define CONTACT_COLUMNS                                                    \
	"id, email, eid, name, phone, company, type, status, created_at, " \
	"updated_at, deleted_at, last_action, fields"

enum contact_col {
	CONTACT_COL_ID,
	CONTACT_COL_EMAIL,
	CONTACT_COL_EID,
	CONTACT_COL_NAME,
	CONTACT_COL_PHONE,
	CONTACT_COL_COMPANY,
	CONTACT_COL_TYPE,
	CONTACT_COL_STATUS,
	CONTACT_COL_CREATED_AT,
	CONTACT_COL_UPDATED_AT,
	CONTACT_COL_DELETED_AT,
	CONTACT_COL_LAST_ACTION,
	CONTACT_COL_FIELDS,
	CONTACT_COL__COUNT,
};

/* A page of contacts: the contact's columns, then its position (the
 * cache names the blocks a page spans, deps.h). */
enum page_col {
	PAGE_COL_POS = CONTACT_COL__COUNT,
	PAGE_COL__COUNT,
};

/* What a write function (schema/003_lifecycle.sql, type contact_write)
 * returns: the contact's columns, then enum write_col. */
#define WRITE_COLUMNS                                                       \
	"(w.c).id, (w.c).email, (w.c).eid, (w.c).name, (w.c).phone, "      \
	"(w.c).company, (w.c).type, (w.c).status, (w.c).created_at, "      \
	"(w.c).updated_at, (w.c).deleted_at, (w.c).last_action, "          \
	"(w.c).fields, w.action, w.lists_updated, w.lists_removed, w.err, " \
	"w.err_field, w.err_detail, (w.c).pos, (w.c).email_key, "          \
	"CASE WHEN w.action IN ('IMPORT_UPDATE', 'DELETE') "               \
	"THEN contact_lists_of($1, (w.c).id) END, "                         \
	"w.prev_email_key, w.prev_status"

enum write_col {
	WRITE_COL_ACTION = CONTACT_COL__COUNT,
	WRITE_COL_LISTS_UPDATED,
	WRITE_COL_LISTS_REMOVED,
	WRITE_COL_ERR,
	WRITE_COL_ERR_FIELD,
	WRITE_COL_ERR_DETAIL,
	/* What the cache must retire (schema/008_cache_retire.sql) */
	WRITE_COL_POS,
	WRITE_COL_EMAIL_KEY,
	WRITE_COL_MEMBER_OF,
	WRITE_COL_PREV_EMAIL_KEY,
	WRITE_COL_PREV_STATUS,
	WRITE_COL__COUNT,
};

/* A list's count of live members is the sum of its blocks' (no write
 * locks the list's row to keep a count there: schema/015). */
#define LIST_COLUMNS \
	"id, name, type, (SELECT coalesce(sum(b.live), 0) FROM list_member_blocks b " \
	"WHERE b.org_id = lists.org_id AND b.list_id = lists.id)::bigint, " \
	"created_at, updated_at, deleted_at"

enum list_col {
	LIST_COL_ID,
	LIST_COL_NAME,
	LIST_COL_TYPE,
	LIST_COL_COUNT,
	LIST_COL_CREATED_AT,
	LIST_COL_UPDATED_AT,
	LIST_COL_DELETED_AT,
	LIST_COL__COUNT,
};

#define FIELD_COLUMNS "name, type, created_at"

enum field_col {
	FIELD_COL_NAME,
	FIELD_COL_TYPE,
	FIELD_COL_CREATED_AT,
	FIELD_COL__COUNT,
};

/* A change feed entry: its cursor's parts, op, contact id and time, then
 * the contact's columns (null once erased), from CHANGE_COL_CONTACT on. */
enum change_col {
	CHANGE_COL_XID,
	CHANGE_COL_SEQ,
	CHANGE_COL_OP,
	CHANGE_COL_ID,
	CHANGE_COL_AT,
	CHANGE_COL_CONTACT,
	CHANGE_COL__COUNT = CHANGE_COL_CONTACT + CONTACT_COL__COUNT,
};

/* The answer stored for an Idempotency-Key (STMT_IDEM_ANSWER), after
 * the write columns of a stored result (schema/021; NULL for a body). */
enum idem_col {
	IDEM_COL_SAME = WRITE_COL__COUNT, /* the same request (its hash) */
	IDEM_COL_STATUS,
	IDEM_COL_LOCATION,
	IDEM_COL_BODY,
	IDEM_COL_RESULT, /* true: the answer is the write columns' */
	IDEM_COL__COUNT,
};

enum key_col {
	KEY_COL_ORG_ID,
	KEY_COL_ORG_NAME,
	KEY_COL_KEY_NAME,
	KEY_COL_HASH,
	KEY_COL_CACHE_EPOCH,
	KEY_COL_RATE_LIMIT,
	KEY_COL__COUNT,
};

/* The statements that answer one boolean: suppression_lift, feed_expired,
 * field_delete, end_backend. */
enum bool_col {
	BOOL_COL_VALUE,
	BOOL_COL__COUNT,
};

enum backend_col {
	BACKEND_COL_START,
	BACKEND_COL__COUNT,
};

/* A pool's renewal of its lease (STMT_HOST_BEAT). */
enum host_beat_col {
	BEAT_COL_NEW,       /* bool: the row was made (first, or taken up) */
	BEAT_COL_AUTH_MS,   /* int4: the longest auth_cache_ms of live pools */
	BEAT_COL__COUNT,
};

/* A gone pool, taken up (STMT_HOST_END). */
enum host_end_col {
	END_COL_HOST_ID,
	END_COL_HOST_NAME,
	END_COL_GONE,       /* bool: its server processes have ended */
	END_COL__COUNT,
};


enum stmt {
	STMT_PING,
	STMT_KEY_LOOKUP,
	STMT_CONTACT_BY_EMAIL,
	STMT_CONTACT_BY_ID,
	STMT_CONTACTS_PAGE,
	STMT_CONTACTS_PAGE_ALL,
	STMT_CONTACT_UPSERT,
	STMT_CONTACT_UPSERT_LISTS,
	STMT_CONTACT_UPSERT_KEPT,
	STMT_CONTACT_UPSERT_LISTS_KEPT,
	STMT_CONTACT_PATCH,
	STMT_CONTACT_BULK,
	STMT_CONTACT_DELETE,
	STMT_CONTACT_ERASE,
	STMT_SUPPRESSION_LIFT,
	STMT_LIST_CREATE,
	STMT_LIST_BY_ID,
	STMT_LIST_PATCH,
	STMT_LIST_DELETE,
	STMT_LISTS_PAGE,
	STMT_LISTS_PAGE_TYPE,
	STMT_LIST_MEMBERS_PAGE,
	STMT_LIST_MEMBERS_PAGE_ALL,
	STMT_CONTACTS_UPDATED_SINCE,
	STMT_CONTACTS_UPDATED_SINCE_ALL,
	STMT_CONTACTS_BY_EID,
	STMT_CONTACTS_BY_EID_ALL,
	STMT_CHANGES_PAGE,
	STMT_FEED_EXPIRED,
	STMT_FIELD_CREATE,
	STMT_FIELDS_LIST,
	STMT_FIELD_DELETE,
	STMT_IDEM_CLAIM,
	STMT_IDEM_SAVE,
	STMT_IDEM_ANSWER,
	STMT_CACHE_EPOCH_BUMP,
	STMT_BACKEND_START,
	STMT_END_BACKEND,
	STMT_HOST_BEAT,
	STMT_HOST_CLAIM,
	STMT_HOST_END,
	STMT_HOST_FORGET,
	STMT_HOST_RELEASE,
	STMT_BEGIN,
	STMT_COMMIT,
	STMT__COUNT,
};

/* The most parameters of any statement. */
/* The update of STMT_CONTACT_UPSERT and STMT_CONTACT_UPSERT_LISTS, up to
 * its conditions: the SET list is contact_upsert's (schema/003_lifecycle.sql,
 * 015), a deleted contact comes back as it was. */
#define UPSERT_UPDATE                                                        \
	"UPDATE contacts AS t SET "                                          \
	"eid = CASE WHEN $5::int & 1 <> 0 THEN $6 ELSE t.eid END, "         \
	"name = CASE WHEN $5::int & 2 <> 0 THEN $7 ELSE t.name END, "       \
	"phone = CASE WHEN $5::int & 4 <> 0 THEN $8 ELSE t.phone END, "     \
	"company = CASE WHEN $5::int & 8 <> 0 THEN $9 ELSE t.company END, " \
	"type = CASE WHEN $5::int & 16 <> 0 THEN $10 ELSE t.type END, "     \
	"status = CASE WHEN t.status <> 'deleted' THEN t.status "           \
	"WHEN t.prior_status = 'unsubscribed' THEN 'unsubscribed' "          \
	"ELSE 'active' END, "                                                \
	"updated_at = clock_timestamp(), last_action = 'IMPORT_UPDATE' "    \
	"WHERE t.org_id = $1 AND t.email_key = email_key($4)"

/* contact_upsert's arguments after p_fields. */
#define UPSERT_ARGS \
	"$6, $7, $8, $9, $10, $11::text[], $12::text[], $13::jsonb"

/* Every list $11 and $12 name exists (contact_write_refusal's check): as
 * many of them found, by lists_pkey and the array, as there are ids (a
 * NOT EXISTS per id was planned as a scan of the organization's lists). */
#define LISTS_KNOWN                                                          \
	"(SELECT count(*) FROM lists l WHERE l.org_id = $1 "                 \
	"AND l.id = ANY ($11::text[] || $12::text[]) "                       \
	"AND l.deleted_at IS NULL) = "                                       \
	"(SELECT count(DISTINCT x) FROM unnest($11::text[] || $12::text[]) x)"

/* The columns of type contact_write after lists_removed, of a write that
 * was not refused. */
#define WRITE_NO_ERROR                                                        \
	"NULL::text AS err, NULL::text AS err_field, NULL::text AS err_detail, " \
	"NULL::text AS prev_email_key, NULL::text AS prev_status"

/* A keyed POST /contacts (schema/021_idempotency_results.sql): after
 * the CTEs of its statement (w, the write), the write's result stored
 * beside the key ($14, $15 the request's hash), an expired answer of the
 * key replaced; a live one makes the statement fail (IK001, schema/018),
 * and the implicit transaction it runs in roll back. */
#define KEEP_RESULT                                                            \
	", k AS (INSERT INTO idempotency_keys AS i (org_id, key, request_hash, "   \
	"contact_ids, result) SELECT $1, $14, $15::bytea, "                        \
	"CASE WHEN (w.c).id IS NULL THEN '{}' ELSE ARRAY[(w.c).id] END, "          \
	"to_jsonb(ROW(w.*)::contact_write) FROM w "                                \
	"ON CONFLICT (org_id, key) DO UPDATE "                                     \
	"SET request_hash = EXCLUDED.request_hash, status = NULL, location = NULL, " \
	"body = NULL, contact_ids = EXCLUDED.contact_ids, result = EXCLUDED.result, " \
	"created_at = now(), expires_at = now() + interval '24 hours' "            \
	"WHERE i.expires_at <= now() RETURNING 1) "                                \
	"SELECT " WRITE_COLUMNS ", CASE WHEN NOT EXISTS (SELECT 1 FROM k) "        \
	"THEN idempotency_key_taken() END FROM w"

/* The CTEs of the two upsert statements, up to their last SELECT (or,
 * with a key, KEEP_RESULT's).  contact_upsert runs, when the branch
 * before it wrote nothing, as a call in a subquery's target list (OFFSET 0:
 * one call, gated by the subquery's condition) rather than as a function
 * scan: the scan's set-up on every execution, which runs whether or not
 * the call does, cost a create about 28 µs of PostgreSQL's CPU
 * (docs/performance.md, "A plan's set-up"). */
#define UPSERT_PLAIN_WITH                                                      \
	"WITH u AS (" UPSERT_UPDATE " AND cardinality($11::text[]) = 0 "            \
	"AND cardinality($12::text[]) = 0 AND $13::jsonb IS NULL RETURNING t.*), "  \
	"w AS (SELECT ROW(u.*)::contacts AS c, 'IMPORT_UPDATE'::text AS action, "   \
	"0 AS lists_updated, 0 AS lists_removed, " WRITE_NO_ERROR " FROM u "        \
	"UNION ALL SELECT (f.r).* FROM (SELECT contact_upsert($1, $2, $3, $4, "     \
	"$5::int | CASE WHEN cardinality($11::text[]) = 0 "                         \
	"AND cardinality($12::text[]) = 0 AND $13::jsonb IS NULL "                  \
	"THEN 128 ELSE 0 END, " UPSERT_ARGS ") AS r "                               \
	"WHERE NOT EXISTS (SELECT 1 FROM u) OFFSET 0) f)"
#define UPSERT_LISTS_WITH                                                      \
	"WITH e AS MATERIALIZED (SELECT 1 FROM contacts t WHERE t.org_id = $1 "     \
	"AND t.email_key = email_key($4)), "                                        \
	"n AS MATERIALIZED (SELECT (f.r).* FROM (SELECT contact_create($1, $2, "    \
	"$3, $4, $6, $7, $8, $9, $10, $11::text[]) AS r "                          \
	"WHERE NOT EXISTS (SELECT 1 FROM e) "                                       \
	"AND $13::jsonb IS NULL AND " LISTS_KNOWN " OFFSET 0) f), "                 \
	"w AS (SELECT n.* FROM n "                                                  \
	"UNION ALL SELECT (f.r).* FROM (SELECT contact_upsert($1, $2, $3, $4, "     \
	"$5::int, " UPSERT_ARGS ") AS r WHERE NOT EXISTS (SELECT 1 FROM n) "        \
	"OFFSET 0) f)"

#define STMT_MAX_PARAMS 15

/* GET /contacts?updated_since= ($1 org, $2 time, $3 offset, $4 limit),
 * with LIVE the condition on the status (or none).  contacts has no index
 * on updated_at (an update would never be heap-only: schema/017): the
 * contacts come from the organization's change feed entries at or after
 * the time (changes_org_at), which every write of a contact makes.  When
 * no entry older than the time is left (the time is before the feed's
 * retention, or before the organization's first entry), an entry after it
 * may be gone too, and the second branch reads the organization's
 * contacts in creation order instead.  One of the two branches runs (the
 * other's one-time filter is false). */
#define UPDATED_SINCE(LIVE)                                                  \
	"WITH k AS MATERIALIZED (SELECT EXISTS (SELECT 1 FROM changes "        \
	"WHERE org_id = $1 AND at < $2::timestamptz) AS covered) "             \
	"SELECT " CONTACT_COLUMNS " FROM ("                                    \
	"SELECT c.* FROM contacts c WHERE (SELECT covered FROM k) "           \
	"AND c.org_id = $1 AND c.id IN (SELECT ch.contact_id FROM changes ch " \
	"WHERE ch.org_id = $1 AND ch.at >= $2::timestamptz) "                 \
	"AND c.updated_at >= $2::timestamptz" LIVE " "                         \
	"UNION ALL (SELECT c.* FROM contacts c "                               \
	"WHERE NOT (SELECT covered FROM k) AND c.org_id = $1 "                 \
	"AND c.updated_at >= $2::timestamptz" LIVE " "                         \
	"ORDER BY c.pos LIMIT $3::bigint + $4::int)) c "                      \
	"ORDER BY pos OFFSET $3::bigint LIMIT $4::int"

/* The start of a page statement: s(from_pos, skip), the first position of
 * the block that the offset falls in and how many shown rows of that block
 * come before it, from running sums of the block counts (no row: the
 * offset is past the end, and the page is empty).  A block's counts may be
 * held in several rows (contact_blocks' stripes, schema/015): over the
 * rows in block order, upto (the default frame: up to the last row of the
 * current block) is the sum through the end of the row's block, before
 * the sum of the blocks before it.  No GROUP BY and nothing materialized:
 * read in block order from the primary key, the sums stop at the block
 * the offset falls in (a page at offset 0 reads one block's counts, not
 * the organization's 977 at 1,000,000 contacts: 8 ms -> 1.6 ms in
 * PostgreSQL). */
#define PAGE_START(blocks, count, where, offset)                               \
	"WITH b AS (SELECT block, sum(" count ") OVER (ORDER BY block)::bigint " \
	"AS upto, coalesce(sum(" count ") OVER (ORDER BY block RANGE BETWEEN " \
	"UNBOUNDED PRECEDING AND 1 PRECEDING), 0)::bigint AS before "          \
	"FROM " blocks " WHERE " where "), "                                   \
	"s AS MATERIALIZED (SELECT block << 10 AS from_pos, "                  \
	offset "::bigint - before AS skip FROM b "                             \
	"WHERE upto > " offset "::bigint ORDER BY block LIMIT 1) "

struct stmt_def {
	const char *name;
	int nparams;
	const char *sql;
};

static const struct stmt_def stmt_defs[STMT__COUNT] = {
	[STMT_PING] = {"ping", 0, "SELECT 1"},
	/* $1 key id -> the key's organization and hash; revoked keys are gone. */
	[STMT_KEY_LOOKUP] = {"key_lookup", 1,
		"SELECT k.org_id, o.name, k.name, k.key_hash, "
		"o.cache_epoch, coalesce(k.rate_limit, -1) "
		"FROM api_keys k JOIN organizations o ON o.id = k.org_id "
		"WHERE k.id = $1 AND k.revoked_at IS NULL"},
	/* $1 org, $2 email key: the unique index; store.c drops a deleted
	 * contact unless it was asked for.  email_key() folds the case
	 * (schema/023), its result in the column's collation, so that the
	 * index serves. */
	[STMT_CONTACT_BY_EMAIL] = {"contact_by_email", 2,
		"SELECT " CONTACT_COLUMNS " FROM contacts "
		"WHERE org_id = $1 AND email_key = email_key($2)"},
	/* $1 org, $2 id */
	[STMT_CONTACT_BY_ID] = {"contact_by_id", 2,
		"SELECT " CONTACT_COLUMNS " FROM contacts "
		"WHERE id = $2 AND org_id = $1"},
	/* $1 org, $2 offset, $3 limit: the page of the contacts not deleted.
	 * Offsets count what the listing shows, so they are not positions once
	 * a contact was deleted or erased: the block counts (1024 positions
	 * each, kept by triggers) are summed to find the block the offset
	 * falls in and how much of it to skip (docs/schema.md, "Offsets with
	 * holes").  One statement, so one snapshot for the counts and the rows. */
	[STMT_CONTACTS_PAGE] = {"contacts_page", 3,
		PAGE_START("contact_blocks", "live", "org_id = $1", "$2")
		"SELECT " CONTACT_COLUMNS ", pos FROM contacts "
		"WHERE org_id = $1 AND status <> 'deleted' "
		"AND pos >= (SELECT from_pos FROM s) "
		"ORDER BY pos OFFSET (SELECT skip FROM s) LIMIT $3::int"},
	/* The same with the deleted ones (includeAll=true). */
	[STMT_CONTACTS_PAGE_ALL] = {"contacts_page_all", 3,
		PAGE_START("contact_blocks", "present", "org_id = $1", "$2")
		"SELECT " CONTACT_COLUMNS ", pos FROM contacts "
		"WHERE org_id = $1 AND pos >= (SELECT from_pos FROM s) "
		"ORDER BY pos OFFSET (SELECT skip FROM s) LIMIT $3::int"},
	/* The write functions: schema/003_lifecycle.sql. */
	/* The common case, an update of an existing contact with no lists
	 * and no custom fields, is a plain UPDATE (u); anything else (a create,
	 * lists, custom fields, or no such contact now) is the function's,
	 * which runs only when u updated nothing; bit 128 of its p_fields
	 * says that u looked for the contact and found none, so that it
	 * inserts first (schema/015).  The SET list is contact_upsert's
	 * (schema/003_lifecycle.sql, 015): a deleted contact comes back as it
	 * was. */
	[STMT_CONTACT_UPSERT] = {"contact_upsert", 13,
		UPSERT_PLAIN_WITH " SELECT " WRITE_COLUMNS " FROM w"},
	/* The same parameters, for a request that names lists and no custom
	 * fields.  A new email is contact_create's (schema/019_lean_list_writes.sql:
	 * the contact and its memberships), once the lists are checked here;
	 * anything else is contact_upsert's: an existing contact (e found it),
	 * a list unknown (the refusal), the email suppressed, a concurrent
	 * create of it that won.  No DML of its own: a statement trigger runs
	 * once per statement that writes, even when it writes no row, so each
	 * path runs only the writes it makes. */
	[STMT_CONTACT_UPSERT_LISTS] = {"contact_upsert_lists", 13,
		UPSERT_LISTS_WITH " SELECT " WRITE_COLUMNS " FROM w"},
	/* The two with an Idempotency-Key: $14 the key, $15 the request's
	 * hash; the result stored with the write (KEEP_RESULT).  One more
	 * column, NULL. */
	[STMT_CONTACT_UPSERT_KEPT] = {"contact_upsert_kept", 15,
		UPSERT_PLAIN_WITH KEEP_RESULT},
	[STMT_CONTACT_UPSERT_LISTS_KEPT] = {"contact_upsert_lists_kept", 15,
		UPSERT_LISTS_WITH KEEP_RESULT},
	[STMT_CONTACT_PATCH] = {"contact_patch", 14,
		"SELECT " WRITE_COLUMNS " FROM contact_patch($1, $2, $3::int, $4, "
		"$5, $6, $7, $8, $9, $10, $11, $12::text[], $13::text[], $14::jsonb) w"},
	/* $1 org, $2 the valid rows as JSON (schema/005_bulk.sql), $3 true
	 * when the answer is kept (an Idempotency-Key: every existing row
	 * is locked, schema/020): one result a row, in order */
	[STMT_CONTACT_BULK] = {"contact_bulk", 3,
		"SELECT " WRITE_COLUMNS " FROM contact_bulk($1, $2::jsonb, $3::boolean) "
		"WITH ORDINALITY w ORDER BY w.ordinality"},
	/* $1 org, $2 id or NULL, $3 email or NULL */
	[STMT_CONTACT_DELETE] = {"contact_delete", 3,
		"SELECT " WRITE_COLUMNS " FROM contact_delete($1, $2, $3) w"},
	/* $1 org, $2 id or NULL, $3 email or NULL, $4 suppress */
	[STMT_CONTACT_ERASE] = {"contact_erase", 4,
		"SELECT " WRITE_COLUMNS " FROM contact_erase($1, $2, $3, $4::boolean) w"},
	/* $1 org, $2 email: true when a suppression was lifted */
	[STMT_SUPPRESSION_LIFT] = {"suppression_lift", 2,
		"SELECT suppression_lift($1, $2)"},
	/* $1 id, $2 org, $3 name, $4 type */
	[STMT_LIST_CREATE] = {"list_create", 4,
		"INSERT INTO lists (id, org_id, name, type) VALUES ($1, $2, $3, $4) "
		"RETURNING " LIST_COLUMNS},
	/* $1 org, $2 id */
	[STMT_LIST_BY_ID] = {"list_by_id", 2,
		"SELECT " LIST_COLUMNS " FROM lists WHERE id = $2 AND org_id = $1"},
	/* $1 org, $2 id, $3 name or NULL, $4 type or NULL: a list not deleted */
	[STMT_LIST_PATCH] = {"list_patch", 4,
		"UPDATE lists SET name = coalesce($3, name), type = coalesce($4, type), "
		"updated_at = clock_timestamp() "
		"WHERE id = $2 AND org_id = $1 AND deleted_at IS NULL "
		"RETURNING " LIST_COLUMNS},
	/* $1 org, $2 id: a deleted list keeps its first deletion's time (the
	 * row is rewritten all the same: a concurrent delete then returns
	 * the state after the first). */
	[STMT_LIST_DELETE] = {"list_delete", 2,
		"UPDATE lists SET "
		"updated_at = CASE WHEN deleted_at IS NULL THEN clock_timestamp() "
		"ELSE updated_at END, "
		"deleted_at = coalesce(deleted_at, clock_timestamp()) "
		"WHERE id = $2 AND org_id = $1 RETURNING " LIST_COLUMNS},
	/* $1 org, $2 offset, $3 limit */
	[STMT_LISTS_PAGE] = {"lists_page", 3,
		"SELECT " LIST_COLUMNS " FROM lists "
		"WHERE org_id = $1 AND deleted_at IS NULL "
		"ORDER BY seq OFFSET $2::bigint LIMIT $3::int"},
	/* $1 org, $2 offset, $3 limit, $4 type */
	[STMT_LISTS_PAGE_TYPE] = {"lists_page_type", 4,
		"SELECT " LIST_COLUMNS " FROM lists "
		"WHERE org_id = $1 AND type = $4 AND deleted_at IS NULL "
		"ORDER BY seq OFFSET $2::bigint LIMIT $3::int"},
	/* $1 org, $2 list, $3 offset, $4 limit: the members not deleted, in
	 * the order they were added; as contacts_page over the list's blocks. */
	[STMT_LIST_MEMBERS_PAGE] = {"list_members_page", 4,
		PAGE_START("list_member_blocks", "live",
			   "org_id = $1 AND list_id = $2", "$3")
		/* the skip and the limit over the memberships alone; only the
		 * page's members are joined to their contacts */
		", m AS MATERIALIZED (SELECT pos, contact_id FROM list_members "
		"WHERE org_id = $1 AND list_id = $2 AND live "
		"AND pos >= (SELECT from_pos FROM s) "
		"ORDER BY pos OFFSET (SELECT skip FROM s) LIMIT $4::int) "
		"SELECT " CONTACT_COLUMNS " FROM m "
		"JOIN contacts c ON c.org_id = $1 AND c.id = m.contact_id "
		"ORDER BY m.pos"},
	[STMT_LIST_MEMBERS_PAGE_ALL] = {"list_members_page_all", 4,
		PAGE_START("list_member_blocks", "present",
			   "org_id = $1 AND list_id = $2", "$3")
		", m AS MATERIALIZED (SELECT pos, contact_id FROM list_members "
		"WHERE org_id = $1 AND list_id = $2 "
		"AND pos >= (SELECT from_pos FROM s) "
		"ORDER BY pos OFFSET (SELECT skip FROM s) LIMIT $4::int) "
		"SELECT " CONTACT_COLUMNS " FROM m "
		"JOIN contacts c ON c.org_id = $1 AND c.id = m.contact_id "
		"ORDER BY m.pos"},
	/* $1 org, $2 time, $3 offset, $4 limit: contacts changed since, in
	 * creation order (UPDATED_SINCE). */
	[STMT_CONTACTS_UPDATED_SINCE] = {"contacts_updated_since", 4,
		UPDATED_SINCE(" AND c.status <> 'deleted'")},
	[STMT_CONTACTS_UPDATED_SINCE_ALL] = {"contacts_updated_since_all", 4,
		UPDATED_SINCE("")},
	/* $1 org, $2 eid, $3 offset, $4 limit: an eid is not unique */
	[STMT_CONTACTS_BY_EID] = {"contacts_by_eid", 4,
		"SELECT " CONTACT_COLUMNS " FROM contacts "
		"WHERE org_id = $1 AND eid = $2 AND status <> 'deleted' "
		"ORDER BY pos OFFSET $3::bigint LIMIT $4::int"},
	[STMT_CONTACTS_BY_EID_ALL] = {"contacts_by_eid_all", 4,
		"SELECT " CONTACT_COLUMNS " FROM contacts "
		"WHERE org_id = $1 AND eid = $2 "
		"ORDER BY pos OFFSET $3::bigint LIMIT $4::int"},
	/* $1 org, $2 xid and $3 seq of the cursor, $4 limit: the entries after
	 * it whose transaction is older than every one still running, so
	 * that none can still appear before them (docs/feed.md). */
	[STMT_CHANGES_PAGE] = {"changes_page", 4,
		"SELECT ch.xid::text, ch.seq, ch.op, ch.contact_id, ch.at, "
		"c.id, c.email, c.eid, c.name, c.phone, c.company, c.type, c.status, "
		"c.created_at, c.updated_at, c.deleted_at, c.last_action, c.fields "
		"FROM changes ch LEFT JOIN contacts c ON ch.op <> 'erase' "
		"AND c.org_id = ch.org_id AND c.id = ch.contact_id "
		"WHERE ch.org_id = $1 AND (ch.xid, ch.seq) > ($2::xid8, $3::bigint) "
		"AND ch.xid < pg_snapshot_xmin(pg_current_snapshot()) "
		"ORDER BY ch.xid, ch.seq LIMIT $4::int"},
	/* $1 org, $2 xid, $3 seq: true when the retention sweep removed
	 * entries after that cursor */
	[STMT_FEED_EXPIRED] = {"feed_expired", 3,
		"SELECT (feed_horizon_xid, feed_horizon_seq) > ($2::xid8, $3::bigint) "
		"FROM organizations WHERE id = $1"},
	/* $1 org, $2 name, $3 type: no row when the name is taken */
	[STMT_FIELD_CREATE] = {"field_create", 3,
		"INSERT INTO custom_fields (org_id, name, type) VALUES ($1, $2, $3) "
		"ON CONFLICT DO NOTHING RETURNING " FIELD_COLUMNS},
	/* $1 org */
	[STMT_FIELDS_LIST] = {"fields_list", 1,
		"SELECT " FIELD_COLUMNS " FROM custom_fields WHERE org_id = $1 "
		"ORDER BY seq"},
	/* $1 org, $2 name: true when it existed */
	[STMT_FIELD_DELETE] = {"field_delete", 2,
		"SELECT custom_field_delete($1, $2)"},
	/* $1 org, $2 key: the key's lock, until the transaction ends
	 * (schema/018_idempotency_lean.sql); fails with IK002 when another
	 * request with the key holds it, so that nothing after it in the
	 * pipeline runs. */
	[STMT_IDEM_CLAIM] = {"idempotency_lock", 2,
		"SELECT CASE WHEN pg_try_advisory_xact_lock("
		"hashtextextended($1 || ':' || $2, 7)) THEN true "
		"ELSE idempotency_key_busy() END"},
	/* $1 org, $2 key, $3 hash, $4 status, $5 Location or NULL, $6 body,
	 * $7 the ids of the contacts the answer shows (which an erasure looks
	 * for) as text[], or NULL to have them read from the body.  An
	 * expired answer of the key is replaced; a live one makes the
	 * statement fail (SQLSTATE IK001, schema/018), so that the COMMIT
	 * after it does not commit.  Prepared here, not schema/006's
	 * idempotency_save(): a LANGUAGE sql function that writes is planned
	 * again on every call (about 500 µs of PostgreSQL a request). */
	[STMT_IDEM_SAVE] = {"idempotency_save", 7,
		"WITH saved AS (INSERT INTO idempotency_keys AS i (org_id, key, "
		"request_hash, status, location, body, contact_ids) "
		"VALUES ($1, $2, $3::bytea, $4::int, $5, $6, "
		"COALESCE($7::text[], CASE WHEN $6 LIKE '{%' THEN ARRAY("
		"SELECT DISTINCT v #>> '{}' "
		"FROM jsonb_path_query($6::jsonb, 'lax $.**.contact.id') AS v) "
		"ELSE '{}' END)) "
		"ON CONFLICT (org_id, key) DO UPDATE "
		"SET request_hash = EXCLUDED.request_hash, status = EXCLUDED.status, "
		"location = EXCLUDED.location, body = EXCLUDED.body, "
		"contact_ids = EXCLUDED.contact_ids, result = NULL, created_at = now(), "
		"expires_at = now() + interval '24 hours' "
		"WHERE i.expires_at <= now() RETURNING 1) "
		"SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM saved) "
		"THEN idempotency_key_taken() END"},
	/* $1 org, $2 key, $3 hash: the key's live answer, once the request's
	 * own could not be stored: a stored result's write columns (all NULL
	 * for a body), then enum idem_col. */
	[STMT_IDEM_ANSWER] = {"idempotency_answer", 3,
		"SELECT " WRITE_COLUMNS ", i.request_hash = $3::bytea, i.status, "
		"i.location, i.body, i.result IS NOT NULL "
		"FROM idempotency_keys i CROSS JOIN LATERAL "
		"jsonb_populate_record(NULL::contact_write, i.result) w "
		"WHERE i.org_id = $1 AND i.key = $2 AND i.expires_at > now()"},
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
	/* The pools' leases (schema/014_host_leases.sql, hostlease.h).
	 * $1 host_id, $2 host_name, $3 lease_ms, $4 auth_cache_ms: renews
	 * this pool's row (makes it when it is not there), and answers the
	 * longest auth_cache_ms of the pools whose lease runs. */
	[STMT_HOST_BEAT] = {"host_beat", 4,
		"WITH h AS (INSERT INTO pool_leases (host_id, host_name, lease_ms, auth_cache_ms) "
		"VALUES ($1, $2, $3::integer, $4::integer) "
		"ON CONFLICT (host_id) DO UPDATE SET seen_at = now(), "
		"lease_ms = EXCLUDED.lease_ms, auth_cache_ms = EXCLUDED.auth_cache_ms "
		"RETURNING xmax = 0 AS made) "
		"SELECT h.made, greatest($4::integer, (SELECT max(auth_cache_ms) FROM pool_leases "
		"WHERE seen_at > now() - lease_ms * interval '1 millisecond')) FROM h"},
	/* $1 org, $2 host_id: the pool writes to the organization; before
	 * its write, or in its transaction.  Locks nothing of the pool's. */
	[STMT_HOST_CLAIM] = {"host_claim", 2,
		"INSERT INTO pool_lease_orgs (org_id, host_id) VALUES ($1, $2) "
		"ON CONFLICT DO NOTHING"},
	/* $1 this pool's host_id, $2 how long it has renewed its own lease
	 * without a break (ms): one other pool whose lease ran out, at least
	 * as long ago as that, locked (another taker skips it), and its
	 * server processes ended, waiting up to 5 s for them. */
	[STMT_HOST_END] = {"host_end", 2,
		"WITH d AS (SELECT host_id, host_name FROM pool_leases "
		"WHERE host_id <> $1 AND lease_ms <= $2::integer "
		"AND seen_at < now() - lease_ms * interval '1 millisecond' "
		"ORDER BY seen_at LIMIT 1 FOR UPDATE SKIP LOCKED) "
		"SELECT d.host_id, d.host_name, "
		"(SELECT coalesce(bool_and(pg_terminate_backend(a.pid, 5000)), true) "
		"FROM pg_stat_activity a WHERE a.application_name = 'contacts-fcgi ' || d.host_id) "
		"FROM d"},
	/* $1 the gone pool's host_id, after STMT_HOST_END, in its
	 * transaction (a statement of its own: its snapshot sees what the
	 * ended processes committed): the cache epoch of every
	 * organization the pool wrote to, bumped, and its rows deleted. */
	[STMT_HOST_FORGET] = {"host_forget", 1,
		"WITH o AS (DELETE FROM pool_lease_orgs WHERE host_id = $1 RETURNING org_id), "
		"h AS (DELETE FROM pool_leases WHERE host_id = $1) "
		"UPDATE organizations SET cache_epoch = cache_epoch + 1 "
		"WHERE id IN (SELECT org_id FROM o)"},
	/* $1 host_id: a pool that stops with nothing unsettled. */
	[STMT_HOST_RELEASE] = {"host_release", 1,
		"WITH o AS (DELETE FROM pool_lease_orgs WHERE host_id = $1) "
		"DELETE FROM pool_leases WHERE host_id = $1"},
	/* An idempotent request's transaction, prepared like the rest: sent
	 * as text, each would be parsed again on every request. */
	[STMT_BEGIN] = {"begin", 0, "BEGIN"},
	[STMT_COMMIT] = {"commit", 0, "COMMIT"},
};

#endif
