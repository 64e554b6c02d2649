/* main.c - contacts-fcgi: arguments and configuration, then the master. */
#include "autoconfig.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "master.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: contacts-fcgi [-c FILE] [--check-config | --reload PID] [--version]\n"
		"\n"
		"Runs the Contacts API's FastCGI worker pool in the foreground.\n"
		"\n"
		"  -c, --config FILE   configuration file (default: $CONTACTS_CONFIG or\n"
		"                      " SYSCONFDIR "/contacts/contacts.conf)\n"
		"  -t, --check-config  validate the configuration, print it, and exit\n"
		"  -r, --reload PID    validate the configuration, then have the pool PID\n"
		"                      reload it; exits 0 once it is in force, 1 when it\n"
		"                      is refused (the pool keeps the running one)\n"
		"  -V, --version       print the version and exit\n"
		"\n"
		"Every setting can be overridden by CONTACTS_<SETTING>, e.g. CONTACTS_WORKERS=8.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check-config", no_argument, NULL, 't'},
		{"reload", required_argument, NULL, 'r'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *path = NULL;
	bool check = false;
	long reload_pid = 0;
	char *end;
	struct config cfg;
	char err[CONFIG_ERR_LEN];
	int c;

	log_init();
	while ((c = getopt_long(argc, argv, "c:tr:Vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 't':
			check = true;
			break;
		case 'r':
			errno = 0;
			reload_pid = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || reload_pid <= 1) {
				fprintf(stderr, "contacts-fcgi: --reload: not a process id: %s\n",
					optarg);
				return 2;
			}
			break;
		case 'V':
#ifdef CONTACTS_FAULT_HOOKS
			printf("contacts-fcgi %s (test build: fault hooks)\n", PACKAGE_VERSION);
#else
			printf("contacts-fcgi %s\n", PACKAGE_VERSION);
#endif
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || (check && reload_pid)) {
		usage(stderr);
		return 2;
	}
	if (config_load(&cfg, path, err, sizeof(err)) < 0) {
		if (reload_pid)
			fprintf(stderr, "contacts-fcgi: reload refused, the pool keeps "
				"its configuration: %s\n", err);
		else
			fprintf(stderr, "contacts-fcgi: configuration error: %s\n", err);
		return 1;
	}
	if (reload_pid) {
		/* Checked here first, so that a refused file never reaches the
		 * pool; the master re-reads it and answers (master.h). */
		config_cleanup(&cfg);
		return master_request_reload((pid_t)reload_pid);
	}
	if (check) {
		config_dump(&cfg, stdout);
		printf("# configuration is valid\n");
		config_cleanup(&cfg);
		return 0;
	}
	log_set_level(cfg.log_level);
	return master_run(&cfg, path);
}
