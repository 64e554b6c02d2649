/* master.h - the pool's master: listening socket, workers, signals. */
#ifndef CONTACTS_MASTER_H
#define CONTACTS_MASTER_H

#include <sys/types.h>

#include "config.h"

/* Runs the pool until SIGTERM/SIGINT.  cfg is taken over (cleaned up by the
 * master); config_path is re-read on SIGHUP (NULL: the default lookup).
 * Returns the process exit status. */
int master_run(struct config *cfg, const char *config_path);

/* contacts-fcgi --reload PID: asks the pool's master PID to reload (SIGHUP
 * by sigqueue) and waits for its verdict.  Returns the exit status: 0 once
 * the new configuration is in force, 1 when the master refused it (it
 * keeps the running one), exited, or did not answer in time. */
int master_request_reload(pid_t pid);

#endif
