/* admin.c - contactsctl's work against PostgreSQL. */
#include "admin.h"

#include <dirent.h>
#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "id.h"
#include "lease.h"
#include "sha256.h"
#include "store_sql.h"
#include "validate.h"

/* An arbitrary constant: the advisory lock that keeps two migrations from
 * running at once. */
#define MIGRATE_LOCK "727072"

static const char SQL_MIGRATIONS_TABLE[] =
	"CREATE TABLE IF NOT EXISTS schema_migrations ("
	" version int PRIMARY KEY, name text NOT NULL,"
	" applied_at timestamptz NOT NULL DEFAULT now())";
static const char SQL_MIGRATION_APPLIED[] =
	"SELECT 1 FROM schema_migrations WHERE version = $1";
static const char SQL_MIGRATION_RECORD[] =
	"INSERT INTO schema_migrations (version, name) VALUES ($1, $2)";
static const char SQL_ORG_CREATE[] =
	"INSERT INTO organizations (id, name) VALUES ($1, $2)";
static const char SQL_ORG_EXISTS[] = "SELECT 1 FROM organizations WHERE id = $1";
static const char SQL_ORG_RENAME[] = "UPDATE organizations SET name = $2 WHERE id = $1";

/* Times as text: to the second in the tables, to the millisecond (as the
 * API's) in JSON; always UTC. */
#define TEXT_TIME(col) \
	"to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define JSON_TIME(col) \
	"to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/* The listings and records, as text columns or as one JSON value that
 * PostgreSQL builds (so that every string is escaped by it).  Keys: the
 * active ones of an organization counted by the api_keys_org index. */
#define ORG_KEYS(which) \
	"(SELECT count(*) FROM api_keys k WHERE k.org_id = o.id AND k.revoked_at IS " which ")"
static const char SQL_ORG_LIST[] =
	"SELECT o.id, " TEXT_TIME("o.created_at") ", " ORG_KEYS("NULL") "::text, o.name "
	"FROM organizations o ORDER BY o.created_at, o.id";
enum org_list_col {
	ORG_LIST_COL_ID,
	ORG_LIST_COL_CREATED_AT,
	ORG_LIST_COL_ACTIVE_KEYS,
	ORG_LIST_COL_NAME,
	ORG_LIST_COL__COUNT,
};
static const char SQL_ORG_LIST_JSON[] =
	"SELECT coalesce(json_agg(json_build_object('id', o.id, 'name', o.name, "
	"'created_at', " JSON_TIME("o.created_at") ", 'active_keys', " ORG_KEYS("NULL") ") "
	"ORDER BY o.created_at, o.id), '[]') FROM organizations o";
static const char SQL_ORG_SHOW[] =
	"SELECT o.id, o.name, " TEXT_TIME("o.created_at") ", " ORG_KEYS("NULL") "::text, "
	ORG_KEYS("NOT NULL") "::text FROM organizations o WHERE o.id = $1";
enum org_show_col {
	ORG_SHOW_COL_ID,
	ORG_SHOW_COL_NAME,
	ORG_SHOW_COL_CREATED_AT,
	ORG_SHOW_COL_ACTIVE_KEYS,
	ORG_SHOW_COL_REVOKED_KEYS,
	ORG_SHOW_COL__COUNT,
};
static const char SQL_ORG_SHOW_JSON[] =
	"SELECT json_build_object('id', o.id, 'name', o.name, 'created_at', "
	JSON_TIME("o.created_at") ", 'active_keys', " ORG_KEYS("NULL") ", "
	"'revoked_keys', " ORG_KEYS("NOT NULL") ") FROM organizations o WHERE o.id = $1";
static const char SQL_KEY_LIST_JSON[] =
	"SELECT coalesce(json_agg(json_build_object('id', id, 'org_id', org_id, "
	"'name', name, 'created_at', " JSON_TIME("created_at") ", 'revoked_at', "
	JSON_TIME("revoked_at") ", 'rate_limit', rate_limit) ORDER BY created_at, id), '[]') "
	"FROM api_keys WHERE org_id = $1";
static const char SQL_KEY_SHOW[] =
	"SELECT k.id, k.org_id, o.name, k.name, " TEXT_TIME("k.created_at") ", "
	"coalesce(" TEXT_TIME("k.revoked_at") ", '-'), coalesce(k.rate_limit::text, 'default') "
	"FROM api_keys k JOIN organizations o ON o.id = k.org_id WHERE k.id = $1";
enum key_show_col {
	KEY_SHOW_COL_ID,
	KEY_SHOW_COL_ORG_ID,
	KEY_SHOW_COL_ORG_NAME,
	KEY_SHOW_COL_NAME,
	KEY_SHOW_COL_CREATED_AT,
	KEY_SHOW_COL_REVOKED_AT,
	KEY_SHOW_COL_RATE_LIMIT,
	KEY_SHOW_COL__COUNT,
};
static const char SQL_KEY_SHOW_JSON[] =
	"SELECT json_build_object('id', k.id, 'org_id', k.org_id, 'organization_name', "
	"o.name, 'name', k.name, 'created_at', " JSON_TIME("k.created_at") ", "
	"'revoked_at', " JSON_TIME("k.revoked_at") ", 'rate_limit', k.rate_limit) "
	"FROM api_keys k JOIN organizations o ON o.id = k.org_id WHERE k.id = $1";
/* key rotate: the key to replace, locked so that two rotations of one key
 * cannot both replace it. */
static const char SQL_KEY_FOR_ROTATE[] =
	"SELECT org_id, name, rate_limit::text FROM api_keys "
	"WHERE id = $1 AND revoked_at IS NULL FOR UPDATE";
enum key_rotate_col {
	KEY_ROTATE_COL_ORG_ID,
	KEY_ROTATE_COL_NAME,
	KEY_ROTATE_COL_RATE_LIMIT,
	KEY_ROTATE_COL__COUNT,
};
static const char SQL_KEY_CREATE[] =
	"INSERT INTO api_keys (id, org_id, name, key_hash, rate_limit) "
	"VALUES ($1, $2, $3, $4, $5::integer)";
static const char SQL_KEY_LIST[] =
	"SELECT id, name, to_char(created_at AT TIME ZONE 'UTC', "
	"'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), coalesce(to_char(revoked_at AT TIME ZONE "
	"'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '-'), "
	"coalesce(rate_limit::text, 'default') "
	"FROM api_keys WHERE org_id = $1 ORDER BY created_at, id";
enum key_list_col {
	KEY_LIST_COL_ID,
	KEY_LIST_COL_NAME,
	KEY_LIST_COL_CREATED_AT,
	KEY_LIST_COL_REVOKED_AT,
	KEY_LIST_COL_RATE_LIMIT,
	KEY_LIST_COL__COUNT,
};
/* The longest key lease of the pools that hold a lease now
 * (schema/014_host_leases.sql), at least $1: what a change of a key's
 * record waits out on every host. */
static const char SQL_LONGEST_LEASE[] =
	"SELECT greatest($1::integer, (SELECT max(auth_cache_ms) FROM pool_leases "
	"WHERE seen_at > now() - lease_ms * interval '1 millisecond'))";

static const char SQL_KEY_REVOKE[] =
	"UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL";
static const char SQL_KEY_LIMIT[] =
	"UPDATE api_keys SET rate_limit = $2::integer "
	"WHERE id = $1 AND revoked_at IS NULL";

/* The one column of the *_JSON statements, of the prune functions (the
 * rows a batch deleted) and of EXPLAIN (a line of the plan). */
enum value_col {
	VALUE_COL,
	VALUE_COL__COUNT,
};

struct admin {
	PGconn *conn;
};

/* Migrations are re-run on every start; "already exists, skipping" notices
 * are noise. */
static void quiet_notices(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

struct admin *admin_connect(const char *conninfo)
{
	struct admin *a = xcalloc(1, sizeof(*a));

	a->conn = PQconnectdb(conninfo);
	if (PQstatus(a->conn) != CONNECTION_OK) {
		fprintf(stderr, "contactsctl: cannot connect to postgresql: %s",
			PQerrorMessage(a->conn));
		admin_free(a);
		return NULL;
	}
	PQsetNoticeProcessor(a->conn, quiet_notices, NULL);
	return a;
}

void admin_free(struct admin *a)
{
	if (!a)
		return;
	PQfinish(a->conn);
	free(a);
}

/* Runs sql with text params; returns the result (caller clears) or NULL
 * after printing the error. */
static PGresult *exec(struct admin *a, const char *what, const char *sql,
		      int n, const char *const *params)
{
	PGresult *r = PQexecParams(a->conn, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(r);

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return r;
	fprintf(stderr, "contactsctl: %s: %s", what, PQresultErrorMessage(r));
	PQclear(r);
	return NULL;
}

/* exec() of a statement whose rows are read: NULL too, after saying so,
 * unless they have ncols columns (the schema and this binary disagree). */
static PGresult *exec_rows(struct admin *a, const char *what, const char *sql,
			   int n, const char *const *params, int ncols)
{
	PGresult *r = exec(a, what, sql, n, params);

	if (!r || PQnfields(r) == ncols)
		return r;
	fprintf(stderr, "contactsctl: %s: unexpected result columns (%d, not %d)\n",
		what, PQnfields(r), ncols);
	PQclear(r);
	return NULL;
}

static int exec_ok(struct admin *a, const char *what, const char *sql)
{
	PGresult *r = exec(a, what, sql, 0, NULL);

	PQclear(r);
	return r ? 0 : -1;
}

/* Waits out the workers' leases of key records on every host: the
 * longest auth_cache_ms among the live pools, or lease_ms (this host's
 * setting) when that is longer or cannot be read. */
static void wait_leases(struct admin *a, int lease_ms)
{
	char own[16];
	const char *params[] = {own};
	PGresult *r;

	snprintf(own, sizeof(own), "%d", lease_ms);
	r = PQexecParams(a->conn, SQL_LONGEST_LEASE, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
	    !PQgetisnull(r, 0, 0))
		lease_ms = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	lease_wait(lease_ms);
}

static int by_name(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The migration files NNN_name.sql of dir, sorted; NULL-terminated. */
static char **list_migrations(const char *dir, size_t *count)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;

	if (!d) {
		fprintf(stderr, "contactsctl: cannot open %s: %s\n", dir, strerror(errno));
		return NULL;
	}
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);

		if (len < 9 || strcmp(e->d_name + len - 4, ".sql") != 0 ||
		    e->d_name[0] < '0' || e->d_name[0] > '9' ||
		    e->d_name[1] < '0' || e->d_name[1] > '9' ||
		    e->d_name[2] < '0' || e->d_name[2] > '9' || e->d_name[3] != '_')
			continue;
		if (n + 2 > cap) {
			cap = cap ? cap * 2 : 16;
			names = xrealloc(names, cap * sizeof(*names));
		}
		names[n++] = xstrdup(e->d_name);
	}
	closedir(d);
	if (!names)
		names = xcalloc(1, sizeof(*names));
	names[n] = NULL;
	qsort(names, n, sizeof(*names), by_name);
	*count = n;
	return names;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	struct buf b;
	char chunk[8192];
	size_t n;

	if (!f) {
		fprintf(stderr, "contactsctl: cannot open %s: %s\n", path, strerror(errno));
		return NULL;
	}
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	if (!b.data)
		buf_append(&b, "", 0);
	return b.data;
}

static int apply_migration(struct admin *a, const char *dir, const char *file,
			   bool quiet)
{
	char version[4], path[4096];
	const char *params[2];
	PGresult *r;
	char *sql;
	int rc = -1;

	memcpy(version, file, 3);
	version[3] = '\0';
	params[0] = version;
	params[1] = file;
	r = exec(a, "migrate", SQL_MIGRATION_APPLIED, 1, params);
	if (!r)
		return -1;
	if (PQntuples(r) == 1) {
		PQclear(r);
		return 0;
	}
	PQclear(r);
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	sql = read_file(path);
	if (!sql)
		return -1;
	if (exec_ok(a, "migrate", "BEGIN") < 0)
		goto out;
	r = PQexec(a->conn, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "contactsctl: migration %s failed: %s", file,
			PQresultErrorMessage(r));
		PQclear(r);
		(void)exec_ok(a, "migrate", "ROLLBACK");
		goto out;
	}
	PQclear(r);
	r = exec(a, "migrate", SQL_MIGRATION_RECORD, 2, params);
	if (!r) {
		(void)exec_ok(a, "migrate", "ROLLBACK");
		goto out;
	}
	PQclear(r);
	if (exec_ok(a, "migrate", "COMMIT") < 0)
		goto out;
	if (!quiet)
		printf("applied %s\n", file);
	rc = 0;
out:
	free(sql);
	return rc;
}

int admin_migrate(struct admin *a, const char *schema_dir, bool quiet)
{
	size_t n = 0;
	char **files;
	int rc = 0;

	if (exec_ok(a, "migrate", "SELECT pg_advisory_lock(" MIGRATE_LOCK ")") < 0 ||
	    exec_ok(a, "migrate", SQL_MIGRATIONS_TABLE) < 0)
		return -1;
	files = list_migrations(schema_dir, &n);
	if (!files)
		return -1;
	if (n == 0) {
		fprintf(stderr, "contactsctl: no migrations in %s\n", schema_dir);
		rc = -1;
	}
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = apply_migration(a, schema_dir, files[i], quiet);
	for (size_t i = 0; i < n; i++)
		free(files[i]);
	free(files);
	if (exec_ok(a, "migrate", "SELECT pg_advisory_unlock(" MIGRATE_LOCK ")") < 0)
		rc = -1;
	return rc;
}

static int check_name(const char *what, const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || !utf8_valid(name, len) || utf8_length(name, len) > 255) {
		fprintf(stderr, "contactsctl: %s must be 1 to 255 characters of UTF-8\n", what);
		return -1;
	}
	return 0;
}

int admin_org_create(struct admin *a, const char *name)
{
	char id[ID_LEN + 1];
	const char *params[] = {id, name};
	PGresult *r;

	if (check_name("the organization name", name) < 0)
		return -1;
	if (id_random(id, ID_LEN) < 0) {
		fprintf(stderr, "contactsctl: cannot get random bytes\n");
		return -1;
	}
	r = exec(a, "org create", SQL_ORG_CREATE, 2, params);
	if (!r)
		return -1;
	PQclear(r);
	printf("%s\n", id);
	return 0;
}

/* Removes change feed entries older than keep_days (at least 30) and
 * expired idempotency answers, and folds the block counts' stripes
 * that no running backend writes (schema/015, 022), a batch at a time so
 * that no statement holds many rows for long. */
#define SQL_FEED_PRUNE "SELECT changes_prune(make_interval(days => $1::int), 10000)"
#define SQL_IDEM_PRUNE "SELECT idempotency_prune(10000)"
#define SQL_STRIPES_FOLD "SELECT block_stripes_fold(1000)"

/* Runs a batch-deleting statement until a batch deletes nothing; the
 * rows deleted, or -1. */
static long long prune_batches(struct admin *a, const char *sql, int nparams,
			       const char *const *params)
{
	long long total = 0, n;

	do {
		PGresult *r = exec_rows(a, "prune", sql, nparams, params, VALUE_COL__COUNT);

		if (!r)
			return -1;
		if (PQntuples(r) != 1) {
			fprintf(stderr, "contactsctl: prune: expected one row\n");
			PQclear(r);
			return -1;
		}
		n = atoll(PQgetvalue(r, 0, VALUE_COL));
		PQclear(r);
		total += n;
	} while (n > 0);
	return total;
}

int admin_prune(struct admin *a, const char *keep_days)
{
	const char *params[] = {keep_days};
	char *end;
	long days = strtol(keep_days, &end, 10);
	long long n;

	if (*keep_days == '\0' || *end != '\0' || days < 30 || days > 36500) {
		fprintf(stderr, "contactsctl: --keep-days must be a whole number of days, at least 30\n");
		return -1;
	}
	if ((n = prune_batches(a, SQL_FEED_PRUNE, 1, params)) < 0)
		return -1;
	printf("pruned %lld change feed entries older than %ld days\n", n, days);
	if ((n = prune_batches(a, SQL_IDEM_PRUNE, 0, NULL)) < 0)
		return -1;
	printf("pruned %lld expired idempotency keys\n", n);
	if ((n = prune_batches(a, SQL_STRIPES_FOLD, 0, NULL)) < 0)
		return -1;
	printf("folded %lld stripes of block counts\n", n);
	return 0;
}

/* "default" (NULL: the service's default) or a count from 0 to 1000000,
 * into *out.  Returns 0 or -1 (with a message). */
static int parse_rate_limit(const char *text, const char **out)
{
	char *end;
	long v;

	if (!text || strcmp(text, "default") == 0) {
		*out = NULL;
		return 0;
	}
	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || end == text || *end || v < 0 || v > 1000000) {
		fprintf(stderr, "contactsctl: the rate limit is \"default\" or a number "
			"of requests per second from 0 (none) to 1000000, not \"%s\"\n", text);
		return -1;
	}
	*out = text;
	return 0;
}

/* 0 when org_id names an organization; else -1 after saying so. */
static int org_exists(struct admin *a, const char *what, const char *org_id)
{
	const char *params[] = {org_id};
	PGresult *r = exec(a, what, SQL_ORG_EXISTS, 1, params);
	bool found;

	if (!r)
		return -1;
	found = PQntuples(r) == 1;
	PQclear(r);
	if (!found) {
		fprintf(stderr, "contactsctl: no organization %s\n", org_id);
		return -1;
	}
	return 0;
}

/* Inserts a new key of org_id; key receives the whole key (ck_ID_SECRET),
 * which exists nowhere else: only its hash is stored. */
static int insert_key(struct admin *a, const char *what, const char *org_id,
		      const char *name, const char *rate_limit, char key[128])
{
	char id[ID_LEN + 1], secret[64];
	uint8_t hash[SHA256_LEN];
	const char *values[5] = {id, org_id, name, (const char *)hash, rate_limit};
	int lengths[5] = {0, 0, 0, SHA256_LEN, 0};
	int formats[5] = {0, 0, 0, 1, 0};
	PGresult *r;

	if (id_random(id, ID_LEN) < 0 || id_random(secret, 43) < 0) {
		fprintf(stderr, "contactsctl: cannot get random bytes\n");
		return -1;
	}
	snprintf(key, 128, "ck_%s_%s", id, secret);
	sha256(key, strlen(key), hash);
	r = PQexecParams(a->conn, SQL_KEY_CREATE, 5, NULL, values, lengths, formats, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		fprintf(stderr, "contactsctl: %s: %s", what, PQresultErrorMessage(r));
		PQclear(r);
		return -1;
	}
	PQclear(r);
	return 0;
}

int admin_key_create(struct admin *a, const char *org_id, const char *name,
		     const char *rate_limit)
{
	const char *limit;
	char key[128];

	if (check_name("the key name", name) < 0 ||
	    parse_rate_limit(rate_limit, &limit) < 0 ||
	    org_exists(a, "key create", org_id) < 0 ||
	    insert_key(a, "key create", org_id, name, limit, key) < 0)
		return -1;
	/* The only time the key is ever shown. */
	printf("%s\n", key);
	return 0;
}

/* Prints the one JSON value that sql (one parameter) returns; -1 with
 * "no <thing> <param>" when it returns no row. */
static int print_json(struct admin *a, const char *what, const char *sql,
		      const char *param, const char *thing)
{
	const char *params[] = {param};
	PGresult *r = exec_rows(a, what, sql, param ? 1 : 0, param ? params : NULL,
				VALUE_COL__COUNT);

	if (!r)
		return -1;
	if (PQntuples(r) != 1) {
		PQclear(r);
		fprintf(stderr, "contactsctl: no %s %s\n", thing, param);
		return -1;
	}
	printf("%s\n", PQgetvalue(r, 0, VALUE_COL));
	PQclear(r);
	return 0;
}

int admin_key_list(struct admin *a, const char *org_id, bool json)
{
	const char *params[] = {org_id};
	PGresult *r;

	if (org_exists(a, "key list", org_id) < 0)
		return -1;
	if (json)
		return print_json(a, "key list", SQL_KEY_LIST_JSON, org_id, "organization");
	r = exec_rows(a, "key list", SQL_KEY_LIST, 1, params, KEY_LIST_COL__COUNT);
	if (!r)
		return -1;
	printf("%-9s  %-20s  %-20s  %-10s  %s\n", "ID", "CREATED", "REVOKED",
	       "RATE/S", "NAME");
	for (int i = 0; i < PQntuples(r); i++)
		printf("%-9s  %-20s  %-20s  %-10s  %s\n", PQgetvalue(r, i, KEY_LIST_COL_ID),
		       PQgetvalue(r, i, KEY_LIST_COL_CREATED_AT),
		       PQgetvalue(r, i, KEY_LIST_COL_REVOKED_AT),
		       PQgetvalue(r, i, KEY_LIST_COL_RATE_LIMIT),
		       PQgetvalue(r, i, KEY_LIST_COL_NAME));
	PQclear(r);
	return 0;
}

int admin_key_show(struct admin *a, const char *key_id, bool json)
{
	const char *params[] = {key_id};
	PGresult *r;

	if (json)
		return print_json(a, "key show", SQL_KEY_SHOW_JSON, key_id, "key");
	r = exec_rows(a, "key show", SQL_KEY_SHOW, 1, params, KEY_SHOW_COL__COUNT);
	if (!r)
		return -1;
	if (PQntuples(r) != 1) {
		PQclear(r);
		fprintf(stderr, "contactsctl: no key %s\n", key_id);
		return -1;
	}
	printf("id:            %s\n"
	       "organization:  %s (%s)\n"
	       "name:          %s\n"
	       "created:       %s\n"
	       "revoked:       %s\n"
	       "rate limit/s:  %s\n",
	       PQgetvalue(r, 0, KEY_SHOW_COL_ID), PQgetvalue(r, 0, KEY_SHOW_COL_ORG_ID),
	       PQgetvalue(r, 0, KEY_SHOW_COL_ORG_NAME), PQgetvalue(r, 0, KEY_SHOW_COL_NAME),
	       PQgetvalue(r, 0, KEY_SHOW_COL_CREATED_AT),
	       PQgetvalue(r, 0, KEY_SHOW_COL_REVOKED_AT),
	       PQgetvalue(r, 0, KEY_SHOW_COL_RATE_LIMIT));
	PQclear(r);
	return 0;
}

int admin_org_list(struct admin *a, bool json)
{
	PGresult *r;

	if (json)
		return print_json(a, "org list", SQL_ORG_LIST_JSON, NULL, "organizations");
	r = exec_rows(a, "org list", SQL_ORG_LIST, 0, NULL, ORG_LIST_COL__COUNT);
	if (!r)
		return -1;
	printf("%-9s  %-20s  %-5s  %s\n", "ID", "CREATED", "KEYS", "NAME");
	for (int i = 0; i < PQntuples(r); i++)
		printf("%-9s  %-20s  %-5s  %s\n", PQgetvalue(r, i, ORG_LIST_COL_ID),
		       PQgetvalue(r, i, ORG_LIST_COL_CREATED_AT),
		       PQgetvalue(r, i, ORG_LIST_COL_ACTIVE_KEYS),
		       PQgetvalue(r, i, ORG_LIST_COL_NAME));
	PQclear(r);
	return 0;
}

int admin_org_show(struct admin *a, const char *org_id, bool json)
{
	const char *params[] = {org_id};
	PGresult *r;

	if (json)
		return print_json(a, "org show", SQL_ORG_SHOW_JSON, org_id, "organization");
	r = exec_rows(a, "org show", SQL_ORG_SHOW, 1, params, ORG_SHOW_COL__COUNT);
	if (!r)
		return -1;
	if (PQntuples(r) != 1) {
		PQclear(r);
		fprintf(stderr, "contactsctl: no organization %s\n", org_id);
		return -1;
	}
	printf("id:            %s\n"
	       "name:          %s\n"
	       "created:       %s\n"
	       "keys:          %s active, %s revoked\n",
	       PQgetvalue(r, 0, ORG_SHOW_COL_ID), PQgetvalue(r, 0, ORG_SHOW_COL_NAME),
	       PQgetvalue(r, 0, ORG_SHOW_COL_CREATED_AT),
	       PQgetvalue(r, 0, ORG_SHOW_COL_ACTIVE_KEYS),
	       PQgetvalue(r, 0, ORG_SHOW_COL_REVOKED_KEYS));
	PQclear(r);
	return 0;
}

int admin_org_rename(struct admin *a, const char *org_id, const char *name,
		     int lease_ms)
{
	const char *params[] = {org_id, name};
	PGresult *r;
	bool done;

	if (check_name("the organization name", name) < 0)
		return -1;
	r = exec(a, "org rename", SQL_ORG_RENAME, 2, params);
	if (!r)
		return -1;
	done = strcmp(PQcmdTuples(r), "1") == 0;
	PQclear(r);
	if (!done) {
		fprintf(stderr, "contactsctl: no organization %s\n", org_id);
		return -1;
	}
	/* The name is part of the key records the workers hold (GET /test
	 * shows it): the new one is seen everywhere once this returns. */
	wait_leases(a, lease_ms);
	printf("renamed %s\n", org_id);
	return 0;
}

/* Runs an UPDATE of one active key; then waits out the workers' leases of
 * its record (lease.h), so that the change holds once this returns. */
static int update_key(struct admin *a, const char *what, const char *sql,
		      int n, const char *const *params, int lease_ms)
{
	PGresult *r = exec(a, what, sql, n, params);
	bool done;

	if (!r)
		return -1;
	done = strcmp(PQcmdTuples(r), "1") == 0;
	PQclear(r);
	if (!done) {
		fprintf(stderr, "contactsctl: no active key %s\n", params[0]);
		return -1;
	}
	wait_leases(a, lease_ms);
	return 0;
}

int admin_key_revoke(struct admin *a, const char *key_id, int lease_ms)
{
	const char *params[] = {key_id};

	if (update_key(a, "key revoke", SQL_KEY_REVOKE, 1, params, lease_ms) < 0)
		return -1;
	printf("revoked %s\n", key_id);
	return 0;
}

int admin_key_limit(struct admin *a, const char *key_id, const char *rate_limit,
		    int lease_ms)
{
	const char *params[2] = {key_id, NULL};

	if (parse_rate_limit(rate_limit, &params[1]) < 0 ||
	    update_key(a, "key limit", SQL_KEY_LIMIT, 2, params, lease_ms) < 0)
		return -1;
	printf("%s: rate limit %s\n", key_id, params[1] ? params[1] : "default");
	return 0;
}

int admin_key_rotate(struct admin *a, const char *key_id, int lease_ms)
{
	const char *params[] = {key_id};
	char key[128];
	PGresult *r;

	if (exec_ok(a, "key rotate", "BEGIN") < 0)
		return -1;
	r = exec_rows(a, "key rotate", SQL_KEY_FOR_ROTATE, 1, params, KEY_ROTATE_COL__COUNT);
	if (!r)
		goto fail;
	if (PQntuples(r) != 1) {
		PQclear(r);
		fprintf(stderr, "contactsctl: no active key %s\n", key_id);
		goto fail;
	}
	if (insert_key(a, "key rotate", PQgetvalue(r, 0, KEY_ROTATE_COL_ORG_ID),
		       PQgetvalue(r, 0, KEY_ROTATE_COL_NAME),
		       PQgetisnull(r, 0, KEY_ROTATE_COL_RATE_LIMIT)
			       ? NULL
			       : PQgetvalue(r, 0, KEY_ROTATE_COL_RATE_LIMIT),
		       key) < 0) {
		PQclear(r);
		goto fail;
	}
	PQclear(r);
	r = exec(a, "key rotate", SQL_KEY_REVOKE, 1, params);
	if (!r)
		goto fail;
	PQclear(r);
	if (exec_ok(a, "key rotate", "COMMIT") < 0)
		return -1;
	/* As key revoke: the old key is refused everywhere once this returns. */
	wait_leases(a, lease_ms);
	/* The only time the new key is ever shown. */
	printf("%s\n", key);
	return 0;
fail:
	(void)exec_ok(a, "key rotate", "ROLLBACK");
	return -1;
}

/* Sample parameters for EXPLAIN: shapes like the service's, no real data. */
static const char *const explain_params[STMT__COUNT][STMT_MAX_PARAMS] = {
	[STMT_KEY_LOOKUP] = {"AAAAAAAAA"},
	[STMT_CONTACT_BY_EMAIL] = {"ORG", "ann@example.com"},
	[STMT_CONTACT_BY_ID] = {"ORG", "AAAAAAAAA"},
	[STMT_CONTACTS_PAGE] = {"ORG", "890000", "1000"},
	[STMT_CONTACTS_PAGE_ALL] = {"ORG", "990000", "1000"},
	[STMT_CONTACT_UPSERT] = {"ORG", "AAAAAAAAA", "ann@example.com", "ann@example.com",
				 "0", NULL, NULL, NULL, NULL, NULL, "{}", "{}", NULL},
	[STMT_CONTACT_UPSERT_LISTS] = {"ORG", "AAAAAAAAA", "ann@example.com", "ann@example.com",
				       "0", NULL, NULL, NULL, NULL, NULL, "{AAAAAAAAA}", "{}",
				       NULL},
	[STMT_CONTACT_UPSERT_KEPT] = {"ORG", "AAAAAAAAA", "ann@example.com", "ann@example.com",
				      "0", NULL, NULL, NULL, NULL, NULL, "{}", "{}", NULL,
				      "key-1", "\\x00"},
	[STMT_CONTACT_UPSERT_LISTS_KEPT] = {"ORG", "AAAAAAAAA", "ann@example.com",
					    "ann@example.com", "0", NULL, NULL, NULL, NULL,
					    NULL, "{AAAAAAAAA}", "{}", NULL, "key-1", "\\x00"},
	[STMT_CONTACT_PATCH] = {"ORG", "AAAAAAAAA", "2", NULL, NULL, NULL, "Ann",
				NULL, NULL, NULL, NULL, "{}", "{}", NULL},
	[STMT_CONTACT_DELETE] = {"ORG", "AAAAAAAAA", NULL},
	[STMT_CONTACT_ERASE] = {"ORG", "AAAAAAAAA", NULL, "false"},
	[STMT_SUPPRESSION_LIFT] = {"ORG", "ann@example.com"},
	[STMT_LIST_CREATE] = {"AAAAAAAAA", "ORG", "name", "customer"},
	[STMT_LIST_BY_ID] = {"ORG", "AAAAAAAAA"},
	[STMT_LIST_PATCH] = {"ORG", "AAAAAAAAA", "name", NULL},
	[STMT_LIST_DELETE] = {"ORG", "AAAAAAAAA"},
	[STMT_LISTS_PAGE] = {"ORG", "0", "1000"},
	[STMT_LISTS_PAGE_TYPE] = {"ORG", "0", "1000", "customer"},
	[STMT_LIST_MEMBERS_PAGE] = {"ORG", "AAAAAAAAA", "89000", "1000"},
	[STMT_LIST_MEMBERS_PAGE_ALL] = {"ORG", "AAAAAAAAA", "99000", "1000"},
	/* A sync asks for what changed lately: a small part of the contacts
	 * (a time after every row, for a plan that does not depend on today). */
	[STMT_CONTACTS_UPDATED_SINCE] = {"ORG", "2999-01-01 00:00:00.000000+00:00", "0", "1000"},
	[STMT_CONTACTS_UPDATED_SINCE_ALL] = {"ORG", "2999-01-01 00:00:00.000000+00:00", "0",
					     "1000"},
	[STMT_CONTACTS_BY_EID] = {"ORG", "E1", "0", "1000"},
	[STMT_CONTACTS_BY_EID_ALL] = {"ORG", "E1", "0", "1000"},
	[STMT_CHANGES_PAGE] = {"ORG", "0", "0", "1000"},
	[STMT_FEED_EXPIRED] = {"ORG", "0", "0"},
	[STMT_FIELD_CREATE] = {"ORG", "tier", "string"},
	[STMT_FIELDS_LIST] = {"ORG"},
	[STMT_FIELD_DELETE] = {"ORG", "tier"},
	[STMT_CONTACT_BULK] = {"ORG", "[]", "false"},
	[STMT_IDEM_CLAIM] = {"ORG", "key-1"},
	[STMT_IDEM_SAVE] = {"ORG", "key-1", "\\x00", "200", NULL, "{}", "{}"},
	[STMT_IDEM_ANSWER] = {"ORG", "key-1", "\\x00"},
	[STMT_CACHE_EPOCH_BUMP] = {"ORG"},
	[STMT_END_BACKEND] = {"0", "2000-01-01 00:00:00+00"},
};

int admin_explain(struct admin *a, const char *org_id)
{
	int rc = 0;

	/* Plans as they are on a large table: with sequential scans priced
	 * out, what remains shows which index serves each statement.  Writes
	 * run in a transaction that is rolled back. */
	if (exec_ok(a, "explain", "BEGIN") < 0 ||
	    exec_ok(a, "explain", "SET LOCAL enable_seqscan = off") < 0)
		return -1;
	for (int i = 0; i < STMT__COUNT; i++) {
		const char *params[STMT_MAX_PARAMS];
		struct buf sql;
		PGresult *r;

		for (int j = 0; j < stmt_defs[i].nparams; j++)
			params[j] = explain_params[i][j] && strcmp(explain_params[i][j], "ORG") == 0
					    ? org_id : explain_params[i][j];
		if (i == STMT_BEGIN || i == STMT_COMMIT)
			continue; /* nothing to plan */
		buf_init(&sql);
		buf_printf(&sql, "EXPLAIN (COSTS OFF) %s", stmt_defs[i].sql);
		r = exec_rows(a, stmt_defs[i].name, sql.data, stmt_defs[i].nparams, params,
			      VALUE_COL__COUNT);
		buf_cleanup(&sql);
		if (!r) {
			rc = -1;
			break;
		}
		printf("-- %s\n%s\n", stmt_defs[i].name, stmt_defs[i].sql);
		for (int k = 0; k < PQntuples(r); k++)
			printf("   %s\n", PQgetvalue(r, k, VALUE_COL));
		printf("\n");
		PQclear(r);
	}
	(void)exec_ok(a, "explain", "ROLLBACK");
	return rc;
}
