/* worker.h - one process of the pool: accept, answer, repeat. */
#ifndef CONTACTS_WORKER_H
#define CONTACTS_WORKER_H

#include "config.h"
#include "hostlease.h"
#include "inflight.h"
#include "metrics.h"
#include "ratelimit.h"

struct worker_args {
	const struct config *cfg; /* borrowed */
	int listen_fd;            /* non-blocking listening socket */
	struct metrics *metrics;  /* shared counters */
	struct ratelimit *limits; /* shared rate limits */
	struct inflight *inflight; /* shared writes in flight */
	struct hostlease *lease;  /* the pool's lease */
	int slot;                 /* this worker's slot in them */
	int ready_fd;             /* written once the worker accepts; -1: none */
};

/* Runs until SIGTERM (after finishing the request in hand).  Returns the
 * process exit status. */
int worker_run(const struct worker_args *args);

#endif
