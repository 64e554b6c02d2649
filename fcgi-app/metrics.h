/* metrics.h - counters shared by the pool, rendered for Prometheus.
 *
 * The master maps one shared region before forking; each worker writes only
 * its own slot (relaxed atomic stores), and GET /metrics, answered by any
 * worker, sums every slot.  A slot outlives its worker, so the totals stay
 * monotonic when workers are replaced.
 */
#ifndef CONTACTS_METRICS_H
#define CONTACTS_METRICS_H

#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "router.h"

struct metrics;
struct metrics_slot;

/* Route index for answers that matched no route. */
#define METRICS_ROUTE_NOT_FOUND ROUTE__COUNT
#define METRICS_ROUTE_NO_METHOD (ROUTE__COUNT + 1)

/* Maps nslots slots in shared memory; NULL on failure. */
struct metrics *metrics_new(int nslots);
void metrics_free(struct metrics *m);
int metrics_slot_count(const struct metrics *m);
struct metrics_slot *metrics_slot(struct metrics *m, int i);

/* The master marks a slot's worker alive (pid) or gone (0). */
void metrics_slot_set_pid(struct metrics_slot *s, pid_t pid);
pid_t metrics_slot_pid(const struct metrics_slot *s);

void metrics_observe(struct metrics_slot *s, int route, int status,
		     uint64_t usec);
/* Cache and database counters: the worker adds what happened since it
 * last reported, so that a slot's totals survive the worker. */
void metrics_add_cache(struct metrics_slot *s, uint64_t hits, uint64_t misses,
		       uint64_t errors);
void metrics_add_pg_errors(struct metrics_slot *s, uint64_t errors);

/* The samples, each labelled host="<host>" (config host_name): behind one
 * upstream a scrape reaches any host, and says which. */
void metrics_render(struct metrics *m, const char *host, struct buf *out);

#endif
