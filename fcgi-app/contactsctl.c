/* contactsctl.c - the admin CLI: migrate, organizations, API keys.
 *
 * Exit status: 0 done; 1 failed, an unknown organization or key included
 * (with a message on stderr); 2 a usage error, an unknown command included
 * (the command and the usage on stderr).  The command line is checked whole
 * before anything connects to PostgreSQL. */
#include "autoconfig.h"

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "config.h"

/* What a command was given: its positional arguments and options. */
struct args {
	const char *pos[2];
	int npos;
	const char *name;       /* --name */
	const char *rate_limit; /* --rate-limit */
	const char *keep_days;  /* --keep-days */
	bool quiet;             /* --quiet */
	bool json;              /* --json */
};

/* The options a command takes. */
enum {
	OPT_NAME = 1 << 0,
	OPT_RATE_LIMIT = 1 << 1,
	OPT_KEEP_DAYS = 1 << 2,
	OPT_QUIET = 1 << 3,
	OPT_JSON = 1 << 4,
};

struct command {
	const char *word, *sub; /* sub NULL: a command of one word */
	int npos;               /* positional arguments, exactly */
	unsigned opts;
	const char *synopsis, *what;
	int (*run)(struct admin *a, const struct config *cfg, const struct args *x);
};

static int run_migrate(struct admin *a, const struct config *cfg, const struct args *x)
{
	return admin_migrate(a, cfg->schema_dir, x->quiet);
}

static int run_org_create(struct admin *a, const struct config *cfg, const struct args *x)
{
	return admin_org_create(a, x->pos[0]);
}

static int run_org_list(struct admin *a, const struct config *cfg, const struct args *x)
{
	return admin_org_list(a, x->json);
}

static int run_org_show(struct admin *a, const struct config *cfg, const struct args *x)
{
	return admin_org_show(a, x->pos[0], x->json);
}

static int run_org_rename(struct admin *a, const struct config *cfg, const struct args *x)
{
	return admin_org_rename(a, x->pos[0], x->pos[1], cfg->auth_cache_ms);
}

static int run_key_create(struct admin *a, const struct config *cfg, const struct args *x)
{
	return admin_key_create(a, x->pos[0], x->name ? x->name : "default", x->rate_limit);
}

static int run_key_list(struct admin *a, const struct config *cfg, const struct args *x)
{
	return admin_key_list(a, x->pos[0], x->json);
}

static int run_key_show(struct admin *a, const struct config *cfg, const struct args *x)
{
	return admin_key_show(a, x->pos[0], x->json);
}

static int run_key_revoke(struct admin *a, const struct config *cfg, const struct args *x)
{
	return admin_key_revoke(a, x->pos[0], cfg->auth_cache_ms);
}

static int run_key_rotate(struct admin *a, const struct config *cfg, const struct args *x)
{
	return admin_key_rotate(a, x->pos[0], cfg->auth_cache_ms);
}

static int run_key_limit(struct admin *a, const struct config *cfg, const struct args *x)
{
	return admin_key_limit(a, x->pos[0], x->pos[1], cfg->auth_cache_ms);
}

static int run_explain(struct admin *a, const struct config *cfg, const struct args *x)
{
	return admin_explain(a, x->pos[0]);
}

static int run_prune(struct admin *a, const struct config *cfg, const struct args *x)
{
	return admin_prune(a, x->keep_days ? x->keep_days : "30");
}

static const struct command commands[] = {
	{"migrate", NULL, 0, OPT_QUIET, "migrate [--quiet]",
	 "apply the schema migrations not yet applied", run_migrate},
	{"org", "create", 1, 0, "org create NAME",
	 "create an organization; prints its id", run_org_create},
	{"org", "list", 0, OPT_JSON, "org list [--json]",
	 "list the organizations", run_org_list},
	{"org", "show", 1, OPT_JSON, "org show ORG_ID [--json]",
	 "show an organization", run_org_show},
	{"org", "rename", 2, 0, "org rename ORG_ID NAME",
	 "rename an organization (in effect on return)", run_org_rename},
	{"key", "create", 1, OPT_NAME | OPT_RATE_LIMIT,
	 "key create ORG_ID [--name NAME] [--rate-limit N|default]",
	 "create an API key; prints the key, once", run_key_create},
	{"key", "list", 1, OPT_JSON, "key list ORG_ID [--json]",
	 "list an organization's keys", run_key_list},
	{"key", "show", 1, OPT_JSON, "key show KEY_ID [--json]",
	 "show a key (never its secret)", run_key_show},
	{"key", "revoke", 1, 0, "key revoke KEY_ID",
	 "revoke a key (in effect when this returns)", run_key_revoke},
	{"key", "rotate", 1, 0, "key rotate KEY_ID",
	 "revoke a key; prints its replacement, once", run_key_rotate},
	{"key", "limit", 2, 0, "key limit KEY_ID N|default",
	 "set a key's rate limit, requests/s (0: none)", run_key_limit},
	{"explain", NULL, 1, 0, "explain ORG_ID",
	 "show the plans of the service's statements", run_explain},
	{"prune", NULL, 0, OPT_KEEP_DAYS, "prune [--keep-days N]",
	 "remove change feed entries older than N\n"
	 "days (default and least: 30) and expired\n"
	 "idempotency keys (24 hours)", run_prune},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	fprintf(out, "usage: contactsctl [-c FILE] COMMAND\n\ncommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++) {
		const struct command *c = &commands[i];

		if (strlen(c->synopsis) <= 32)
			fprintf(out, "  %-32s  ", c->synopsis);
		else
			fprintf(out, "  %s\n%36s", c->synopsis, "");
		for (const char *w = c->what; *w; w++)
			if (*w == '\n')
				fprintf(out, "\n%36s", "");
			else
				fputc(*w, out);
		fputc('\n', out);
	}
	fprintf(out,
		"\n"
		"The configuration is the service's (-c FILE, $CONTACTS_CONFIG or\n"
		SYSCONFDIR "/contacts/contacts.conf, then CONTACTS_* variables).\n"
		"Exit status: 0 done, 1 failed (an unknown organization or key too),\n"
		"2 a usage error.  See contactsctl(1).\n");
}

/* The command that argv names (by its first one or two words), or NULL. */
static const struct command *find_command(int argc, char **argv, int *words)
{
	for (size_t i = 0; i < NCOMMANDS; i++) {
		const struct command *c = &commands[i];

		if (strcmp(argv[0], c->word) != 0)
			continue;
		if (!c->sub) {
			*words = 1;
			return c;
		}
		if (argc > 1 && strcmp(argv[1], c->sub) == 0) {
			*words = 2;
			return c;
		}
	}
	return NULL;
}

/* Fills x from the arguments after the command's words.  Returns 0, or -1
 * after saying what is wrong. */
static int parse_args(const struct command *c, int argc, char **argv, struct args *x)
{
	static const struct {
		const char *name;
		unsigned opt;
		size_t value; /* offset of its value in struct args; 0: a flag */
	} options[] = {
		{"--name", OPT_NAME, offsetof(struct args, name)},
		{"--rate-limit", OPT_RATE_LIMIT, offsetof(struct args, rate_limit)},
		{"--keep-days", OPT_KEEP_DAYS, offsetof(struct args, keep_days)},
		{"--quiet", OPT_QUIET, 0},
		{"--json", OPT_JSON, 0},
	};
	char cmd[32]; /* the command's words, for messages */

	snprintf(cmd, sizeof(cmd), "%s%s%s", c->word, c->sub ? " " : "", c->sub ? c->sub : "");
	for (int i = 0; i < argc; i++) {
		size_t o;

		if (strncmp(argv[i], "--", 2) != 0 || argv[i][2] == '\0') {
			if (x->npos == c->npos || x->npos == 2) {
				fprintf(stderr, "contactsctl: %s: unexpected argument \"%s\"\n",
					cmd, argv[i]);
				return -1;
			}
			x->pos[x->npos++] = argv[i];
			continue;
		}
		for (o = 0; o < sizeof(options) / sizeof(options[0]); o++)
			if (strcmp(argv[i], options[o].name) == 0)
				break;
		if (o == sizeof(options) / sizeof(options[0]) || !(c->opts & options[o].opt)) {
			fprintf(stderr, "contactsctl: %s: unknown option %s\n", cmd,
				argv[i]);
			return -1;
		}
		if (options[o].opt == OPT_QUIET) {
			x->quiet = true;
		} else if (options[o].opt == OPT_JSON) {
			x->json = true;
		} else {
			if (i + 1 >= argc) {
				fprintf(stderr, "contactsctl: %s: %s needs a value\n",
					cmd, argv[i]);
				return -1;
			}
			*(const char **)((char *)x + options[o].value) = argv[++i];
		}
	}
	if (x->npos != c->npos) {
		fprintf(stderr, "contactsctl: %s: expected %d argument%s\n", cmd,
			c->npos, c->npos == 1 ? "" : "s");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *path = NULL;
	const struct command *cmd;
	struct args x;
	struct config cfg;
	char err[CONFIG_ERR_LEN];
	struct admin *a;
	int c, rc, words = 0;

	while ((c = getopt_long(argc, argv, "+c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("contactsctl %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage(stderr);
		return 2;
	}
	cmd = find_command(argc, argv, &words);
	if (!cmd) {
		bool group = false; /* "org", "key": name the second word too */

		for (size_t i = 0; i < NCOMMANDS; i++)
			group |= commands[i].sub && strcmp(argv[0], commands[i].word) == 0;
		fprintf(stderr, "contactsctl: unknown command: %s%s%s\n\n", argv[0],
			group && argc > 1 ? " " : "", group && argc > 1 ? argv[1] : "");
		usage(stderr);
		return 2;
	}
	memset(&x, 0, sizeof(x));
	if (parse_args(cmd, argc - words, argv + words, &x) < 0) {
		fprintf(stderr, "usage: contactsctl [-c FILE] %s\n", cmd->synopsis);
		return 2;
	}
	if (config_load(&cfg, path, err, sizeof(err)) < 0) {
		fprintf(stderr, "contactsctl: configuration error: %s\n", err);
		return 1;
	}
	a = admin_connect(cfg.database);
	if (!a) {
		config_cleanup(&cfg);
		return 1;
	}
	rc = cmd->run(a, &cfg, &x);
	admin_free(a);
	config_cleanup(&cfg);
	return rc == 0 ? 0 : 1;
}
