/* contactsctl.c - the admin CLI: migrate, organizations, API keys.
 * Exit status: 0 done, 1 failed, 2 usage. */
#include "autoconfig.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "config.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: contactsctl [-c FILE] COMMAND\n"
		"\n"
		"commands:\n"
		"  migrate [--quiet]                 apply the schema migrations not yet applied\n"
		"  org create NAME                   create an organization; prints its id\n"
		"  key create ORG_ID [--name NAME] [--rate-limit N|default]\n"
		"                                    create an API key; prints the key, once\n"
		"  key list ORG_ID                   list an organization's keys\n"
		"  key revoke KEY_ID                 revoke a key (in effect when this returns)\n"
		"  key limit KEY_ID N|default        set a key's rate limit, requests/s (0: none)\n"
		"  explain ORG_ID                    show the plan of every statement the service runs\n"
		"  prune [--keep-days N]             remove change feed entries older than N days\n"
		"                                    (default and least: 30) and expired\n"
		"                                    idempotency keys (24 hours)\n"
		"\n"
		"The configuration is the service's (-c FILE, $CONTACTS_CONFIG or\n"
		SYSCONFDIR "/contacts/contacts.conf, then CONTACTS_* variables).\n");
}

/* key create ORG_ID [--name NAME] [--rate-limit N]: argv[0] is ORG_ID. */
static int key_create(struct admin *a, int argc, char **argv)
{
	const char *name = "default", *rate_limit = NULL;

	for (int i = 1; i < argc; i += 2) {
		if (i + 1 >= argc)
			return -2;
		if (strcmp(argv[i], "--name") == 0)
			name = argv[i + 1];
		else if (strcmp(argv[i], "--rate-limit") == 0)
			rate_limit = argv[i + 1];
		else
			return -2;
	}
	return admin_key_create(a, argv[0], name, rate_limit);
}

static int run(struct admin *a, const struct config *cfg, int argc, char **argv)
{
	const char *cmd = argv[0];
	const char *sub = argc > 1 ? argv[1] : "";

	if (strcmp(cmd, "migrate") == 0 && argc <= 2)
		return admin_migrate(a, cfg->schema_dir,
				     argc == 2 && strcmp(argv[1], "--quiet") == 0);
	if (strcmp(cmd, "org") == 0 && strcmp(sub, "create") == 0 && argc == 3)
		return admin_org_create(a, argv[2]);
	if (strcmp(cmd, "key") == 0 && strcmp(sub, "create") == 0 && argc >= 3)
		return key_create(a, argc - 2, argv + 2);
	if (strcmp(cmd, "key") == 0 && strcmp(sub, "list") == 0 && argc == 3)
		return admin_key_list(a, argv[2]);
	if (strcmp(cmd, "explain") == 0 && argc == 2)
		return admin_explain(a, argv[1]);
	if (strcmp(cmd, "prune") == 0 && argc == 1)
		return admin_prune(a, "30");
	if (strcmp(cmd, "prune") == 0 && argc == 3 && strcmp(argv[1], "--keep-days") == 0)
		return admin_prune(a, argv[2]);
	if (strcmp(cmd, "key") == 0 && strcmp(sub, "revoke") == 0 && argc == 3)
		return admin_key_revoke(a, argv[2], cfg->auth_cache_ms);
	if (strcmp(cmd, "key") == 0 && strcmp(sub, "limit") == 0 && argc == 4)
		return admin_key_limit(a, argv[2], argv[3], cfg->auth_cache_ms);
	return -2;
}

static bool known_command(int argc, char **argv)
{
	static const char *const shapes[][2] = {
		{"migrate", NULL}, {"org", "create"}, {"key", "create"},
		{"key", "list"}, {"key", "revoke"}, {"key", "limit"},
		{"explain", NULL}, {"prune", NULL},
	};

	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
		if (strcmp(argv[0], shapes[i][0]) == 0 &&
		    (!shapes[i][1] || (argc > 1 && strcmp(argv[1], shapes[i][1]) == 0)))
			return true;
	return false;
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
	struct config cfg;
	char err[CONFIG_ERR_LEN];
	struct admin *a;
	int c, rc;

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
	if (argc < 1 || !known_command(argc, argv)) {
		usage(stderr);
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
	rc = run(a, &cfg, argc, argv);
	admin_free(a);
	config_cleanup(&cfg);
	if (rc == -2) {
		usage(stderr);
		return 2;
	}
	return rc == 0 ? 0 : 1;
}
