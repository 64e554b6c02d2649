/* config.h - the settings: one table, one struct.
 *
 * Sources, later ones winning: built-in defaults, the file (`key = value`
 * lines, `#` comments), then the environment (CONTACTS_<KEY>, e.g.
 * CONTACTS_DATABASE).  The default file is SYSCONFDIR/contacts/contacts.conf
 * and may be absent; CONTACTS_CONFIG or -c names another, which must exist.
 */
#ifndef CONTACTS_CONFIG_H
#define CONTACTS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "log.h"

struct config {
	char *database;       /* libpq conninfo */
	char *redis;          /* host:port, or "" to run without a cache */
	char *redis_sentinels; /* host:port list: the master is asked of them
				  (and redis is not used); "" for none */
	char *redis_master_name; /* the master's name in the sentinels */
	int redis_timeout_ms; /* connect and command timeout */
	int workers;          /* 0: four per core */
	char *listen;         /* unix socket path or host:port */
	int listen_mode;      /* permissions of a unix socket */
	int backlog;
	int cache_ttl;        /* seconds; backstop for cached entries */
	int auth_cache_ms;    /* how long a worker trusts a key's record */
	int key_rate_limit;   /* requests/s per key without its own; 0: none */
	int auth_fail_limit;  /* failed authentications/min per address; 0: none */
	char *auth_fail_exempt; /* addresses not counted, space-separated */
	int pool_hosts;       /* hosts behind one upstream: >1 counts the rate
				 limits in Redis (policy.h) */
	char *host_name;      /* the host label of /metrics; "" reads
				 gethostname() */
	int host_lease_ms;    /* the pool's lease in PostgreSQL: another pool
				 settles its writes this long after it is
				 gone (hostlease.h) */
	enum log_level log_level;
	int access_log;       /* request lines of successes: 1 all, N one in N,
			       * 0 none (errors and slow ones are all logged) */
	int access_log_slow_ms; /* a request this slow is always logged; 0: off */
	int statement_timeout; /* milliseconds PostgreSQL gives a statement
				* (the workers' connections); 0: none */
	int shutdown_timeout; /* seconds a worker gets to finish on SIGTERM */
	char *pid_file;       /* "" for none */
	char *schema_dir;     /* migrations, for contactsctl migrate */
	char *source;         /* the file read, or "" (informational) */
};

#define CONFIG_ERR_LEN 256

/* Loads defaults, then path (NULL: CONTACTS_CONFIG or the default file),
 * then the environment.  On failure returns -1 with a message in err and
 * leaves *c cleaned up. */
int config_load(struct config *c, const char *path, char *err, size_t errlen)
	__attribute__((warn_unused_result));
void config_cleanup(struct config *c);

/* Prints the effective settings as `key = value` lines (the database
 * conninfo with its password masked, whatever its form: conninfo.h). */
void config_dump(const struct config *c, FILE *out);

#endif
