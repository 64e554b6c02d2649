/* master.h - the pool's master: listening socket, workers, signals. */
#ifndef CONTACTS_MASTER_H
#define CONTACTS_MASTER_H

#include "config.h"

/* Runs the pool until SIGTERM/SIGINT.  cfg is taken over (cleaned up by the
 * master); config_path is re-read on SIGHUP (NULL: the default lookup).
 * Returns the process exit status. */
int master_run(struct config *cfg, const char *config_path);

#endif
