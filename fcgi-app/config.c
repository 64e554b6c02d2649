/* config.c - the settings table and its loader. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conninfo.h"
#include "hostport.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#ifndef PKGDATADIR
#define PKGDATADIR "/usr/share/contacts-fcgi"
#endif

enum setting_type { T_STR, T_INT, T_MODE, T_LEVEL, T_SAMPLE };

struct setting {
	const char *name;
	enum setting_type type;
	size_t offset;
	const char *def;
	int min, max; /* T_INT */
};

#define S(name, type, def, min, max) \
	{#name, type, offsetof(struct config, name), def, min, max}

static const struct setting settings[] = {
	S(database, T_STR, "dbname=contacts", 0, 0),
	S(redis, T_STR, "127.0.0.1:6379", 0, 0),
	S(redis_sentinels, T_STR, "", 0, 0),
	S(redis_master_name, T_STR, "contacts", 0, 0),
	S(redis_timeout_ms, T_INT, "10", 1, 10000),
	S(workers, T_INT, "0", 0, 256),
	S(listen, T_STR, "/run/contacts/contacts-fcgi.sock", 0, 0),
	S(listen_mode, T_MODE, "0660", 0, 0),
	S(backlog, T_INT, "1024", 1, 65535),
	S(cache_ttl, T_INT, "300", 1, 86400 * 7),
	S(auth_cache_ms, T_INT, "20", 0, 1000),
	S(key_rate_limit, T_INT, "1000", 0, 1000000),
	S(auth_fail_limit, T_INT, "10", 0, 100000),
	S(auth_fail_exempt, T_STR, "", 0, 0),
	S(pool_hosts, T_INT, "1", 1, 64),
	S(host_name, T_STR, "", 0, 0),
	S(host_lease_ms, T_INT, "10000", 3000, 600000),
	S(log_level, T_LEVEL, "info", 0, 0),
	S(access_log, T_SAMPLE, "sample:100", 1, 1000000),
	S(access_log_slow_ms, T_INT, "500", 0, 3600000),
	S(statement_timeout, T_INT, "25000", 0, 3600000),
	S(shutdown_timeout, T_INT, "10", 1, 3600),
	S(pid_file, T_STR, "", 0, 0),
	S(schema_dir, T_STR, PKGDATADIR "/schema", 0, 0),
};

#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static const struct setting *find_setting(const char *name)
{
	for (size_t i = 0; i < NSETTINGS; i++)
		if (strcmp(settings[i].name, name) == 0)
			return &settings[i];
	return NULL;
}

static int apply(struct config *c, const struct setting *s, const char *value,
		 char *err, size_t errlen)
{
	void *field = (char *)c + s->offset;
	char *end;
	long v;

	switch (s->type) {
	case T_STR: {
		char *copy = strdup(value);

		if (!copy) {
			set_err(err, errlen, "out of memory");
			return -1;
		}
		free(*(char **)field);
		*(char **)field = copy;
		return 0;
	}
	case T_INT:
		errno = 0;
		v = strtol(value, &end, 10);
		if (errno || end == value || *end || v < s->min || v > s->max) {
			set_err(err, errlen, "%s: expected an integer from %d to %d, got \"%s\"",
				s->name, s->min, s->max, value);
			return -1;
		}
		*(int *)field = (int)v;
		return 0;
	case T_MODE:
		errno = 0;
		v = strtol(value, &end, 8);
		if (errno || end == value || *end || v < 0 || v > 0777) {
			set_err(err, errlen, "%s: expected an octal mode such as 0660, got \"%s\"",
				s->name, value);
			return -1;
		}
		*(int *)field = (int)v;
		return 0;
	case T_LEVEL:
		if (log_level_parse(value, (enum log_level *)field) < 0) {
			set_err(err, errlen, "%s: expected error, warn, info or debug, got \"%s\"",
				s->name, value);
			return -1;
		}
		return 0;
	case T_SAMPLE:
		if (strcmp(value, "all") == 0) {
			*(int *)field = 1;
			return 0;
		}
		if (strcmp(value, "errors") == 0) {
			*(int *)field = 0;
			return 0;
		}
		errno = 0;
		v = strncmp(value, "sample:", 7) == 0 ? strtol(value + 7, &end, 10) : -1;
		if (v < 0 || errno || end == value + 7 || *end || v < s->min || v > s->max) {
			set_err(err, errlen, "%s: expected all, errors or sample:N (N from %d to %d), got \"%s\"",
				s->name, s->min, s->max, value);
			return -1;
		}
		*(int *)field = (int)v;
		return 0;
	}
	return -1;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int read_file(struct config *c, const char *path, bool must_exist,
		     char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	int lineno = 0;
	int rc = 0;

	if (!f) {
		if (!must_exist && errno == ENOENT)
			return 0;
		set_err(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *key, *value, *eq;
		const struct setting *s;
		size_t vlen;

		lineno++;
		key = trim(line);
		if (*key == '\0' || *key == '#')
			continue;
		eq = strchr(key, '=');
		if (!eq) {
			set_err(err, errlen, "%s:%d: expected key = value", path, lineno);
			rc = -1;
			break;
		}
		*eq = '\0';
		key = trim(key);
		value = trim(eq + 1);
		vlen = strlen(value);
		if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"') {
			value[vlen - 1] = '\0';
			value++;
		}
		s = find_setting(key);
		if (!s) {
			set_err(err, errlen, "%s:%d: unknown setting \"%s\"", path, lineno, key);
			rc = -1;
			break;
		}
		if (apply(c, s, value, err, errlen) < 0) {
			char inner[CONFIG_ERR_LEN];

			snprintf(inner, sizeof(inner), "%s", err);
			set_err(err, errlen, "%s:%d: %s", path, lineno, inner);
			rc = -1;
			break;
		}
	}
	fclose(f);
	return rc;
}

/* redis: host:port or ""; redis_sentinels: "" or a list of host:port,
 * and then the master's name as the sentinels know it. */
static int check_redis(const struct config *c, char *err, size_t errlen)
{
	struct hostport hp[HOSTPORT_LIST_MAX];
	size_t n = strlen(c->redis_master_name);

	if (*c->redis && hostport_parse(c->redis, strlen(c->redis), hp) < 0) {
		set_err(err, errlen, "redis: expected host:port or nothing, got \"%s\"",
			c->redis);
		return -1;
	}
	if (*c->redis_sentinels &&
	    hostport_list(c->redis_sentinels, hp, HOSTPORT_LIST_MAX) < 0) {
		set_err(err, errlen,
			"redis_sentinels: expected 1 to %d host:port separated by spaces or commas, got \"%s\"",
			HOSTPORT_LIST_MAX, c->redis_sentinels);
		return -1;
	}
	if (n == 0 || n > 64 ||
	    strspn(c->redis_master_name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					 "0123456789._-") != n) {
		set_err(err, errlen,
			"redis_master_name: expected 1 to 64 letters, digits, '.', '_' or '-', got \"%s\"",
			c->redis_master_name);
		return -1;
	}
	return 0;
}

int config_load(struct config *c, const char *path, char *err, size_t errlen)
{
	bool explicit_path = path != NULL;
	char envname[64];

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < NSETTINGS; i++)
		if (apply(c, &settings[i], settings[i].def, err, errlen) < 0)
			goto fail;

	if (!path) {
		path = getenv("CONTACTS_CONFIG");
		explicit_path = path != NULL && *path;
	}
	if (!path || !*path)
		path = SYSCONFDIR "/contacts/contacts.conf";
	if (read_file(c, path, explicit_path, err, errlen) < 0)
		goto fail;
	c->source = strdup(path);
	if (!c->source)
		goto fail;

	for (size_t i = 0; i < NSETTINGS; i++) {
		const char *value;
		size_t j;

		snprintf(envname, sizeof(envname), "CONTACTS_%s", settings[i].name);
		for (j = 9; envname[j]; j++)
			envname[j] = (char)toupper((unsigned char)envname[j]);
		value = getenv(envname);
		if (!value)
			continue;
		if (apply(c, &settings[i], value, err, errlen) < 0) {
			char inner[CONFIG_ERR_LEN];

			snprintf(inner, sizeof(inner), "%s", err);
			set_err(err, errlen, "%s: %s", envname, inner);
			goto fail;
		}
	}
	if (!*c->database) {
		set_err(err, errlen, "database: must not be empty");
		goto fail;
	}
	if (!*c->listen) {
		set_err(err, errlen, "listen: must not be empty");
		goto fail;
	}
	if (check_redis(c, err, errlen) < 0)
		goto fail;
	if (!*c->host_name) {
		char name[64] = "";

		if (gethostname(name, sizeof(name) - 1) != 0 || !*name)
			snprintf(name, sizeof(name), "localhost");
		if (apply(c, find_setting("host_name"), name, err, errlen) < 0)
			goto fail;
	}
	if (strlen(c->host_name) > 63 ||
	    strspn(c->host_name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				 "0123456789._-") != strlen(c->host_name)) {
		set_err(err, errlen, "host_name: expected up to 63 letters, digits, '.', '_' or '-', got \"%s\"",
			c->host_name);
		goto fail;
	}
	return 0;
fail:
	config_cleanup(c);
	return -1;
}

void config_cleanup(struct config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < NSETTINGS; i++)
		if (settings[i].type == T_STR) {
			char **p = (char **)((char *)c + settings[i].offset);

			free(*p);
			*p = NULL;
		}
	free(c->source);
	c->source = NULL;
}

/* The connection string with its secrets masked, so that --check-config
 * output can be shared. */
static void dump_conninfo(const char *conninfo, FILE *out)
{
	char *masked = conninfo_masked(conninfo);

	if (masked)
		fputs(masked, out);
	else
		fputs(CONNINFO_MASK " # not a valid libpq connection string", out);
	free(masked);
}

void config_dump(const struct config *c, FILE *out)
{
	fprintf(out, "# from %s and the environment\n", c->source ? c->source : "-");
	for (size_t i = 0; i < NSETTINGS; i++) {
		const struct setting *s = &settings[i];
		const void *field = (const char *)c + s->offset;

		fprintf(out, "%s = ", s->name);
		switch (s->type) {
		case T_STR:
			if (strcmp(s->name, "database") == 0)
				dump_conninfo(*(char *const *)field, out);
			else
				fputs(*(char *const *)field, out);
			break;
		case T_INT:
			fprintf(out, "%d", *(const int *)field);
			break;
		case T_MODE:
			fprintf(out, "%04o", *(const int *)field);
			break;
		case T_LEVEL:
			fputs(log_level_name(*(const enum log_level *)field), out);
			break;
		case T_SAMPLE: {
			int n = *(const int *)field;

			if (n <= 1)
				fputs(n ? "all" : "errors", out);
			else
				fprintf(out, "sample:%d", n);
			break;
		}
		}
		fputc('\n', out);
	}
}
