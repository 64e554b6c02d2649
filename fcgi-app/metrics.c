/* metrics.c - shared counters and their Prometheus text. */
#include "metrics.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>

#define NROUTES (ROUTE__COUNT + 2)

static const int status_codes[] = {200, 201, 400, 401, 404, 405, 413,
				   415, 422, 429, 500, 503, 0};
#define NSTATUS (sizeof(status_codes) / sizeof(status_codes[0]))

/* Upper bounds of the latency histogram, in microseconds. */
static const uint64_t bounds_us[] = {250, 500, 1000, 2500, 5000, 10000,
				     25000, 50000, 100000, 250000, 1000000};
#define NBOUNDS (sizeof(bounds_us) / sizeof(bounds_us[0]))

struct metrics_slot {
	int64_t pid;
	uint64_t requests[NROUTES][NSTATUS];
	uint64_t latency[NROUTES][NBOUNDS + 1]; /* last: +Inf */
	uint64_t latency_sum_us[NROUTES];
	uint64_t cache_hits, cache_misses, cache_errors;
	uint64_t pg_errors;
};

struct metrics {
	int nslots;
	struct metrics_slot slots[];
};

static size_t region_size(int nslots)
{
	return sizeof(struct metrics) + (size_t)nslots * sizeof(struct metrics_slot);
}

struct metrics *metrics_new(int nslots)
{
	struct metrics *m = mmap(NULL, region_size(nslots), PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED)
		return NULL;
	memset(m, 0, region_size(nslots));
	m->nslots = nslots;
	return m;
}

void metrics_free(struct metrics *m)
{
	if (m)
		munmap(m, region_size(m->nslots));
}

int metrics_slot_count(const struct metrics *m)
{
	return m->nslots;
}

struct metrics_slot *metrics_slot(struct metrics *m, int i)
{
	return &m->slots[i];
}

static uint64_t load(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void add(uint64_t *p, uint64_t v)
{
	/* One writer per slot: a relaxed load and store is enough. */
	__atomic_store_n(p, load(p) + v, __ATOMIC_RELAXED);
}

void metrics_slot_set_pid(struct metrics_slot *s, pid_t pid)
{
	__atomic_store_n(&s->pid, (int64_t)pid, __ATOMIC_RELAXED);
}

pid_t metrics_slot_pid(const struct metrics_slot *s)
{
	return (pid_t)__atomic_load_n(&s->pid, __ATOMIC_RELAXED);
}

void metrics_observe(struct metrics_slot *s, int route, int status,
		     uint64_t usec)
{
	size_t st = NSTATUS - 1, b = NBOUNDS;

	if (!s || route < 0 || route >= NROUTES)
		return;
	for (size_t i = 0; i + 1 < NSTATUS; i++)
		if (status_codes[i] == status)
			st = i;
	for (size_t i = 0; i < NBOUNDS; i++)
		if (usec <= bounds_us[i]) {
			b = i;
			break;
		}
	add(&s->requests[route][st], 1);
	add(&s->latency[route][b], 1);
	add(&s->latency_sum_us[route], usec);
}

void metrics_add_cache(struct metrics_slot *s, uint64_t hits, uint64_t misses,
		       uint64_t errors)
{
	if (!s)
		return;
	add(&s->cache_hits, hits);
	add(&s->cache_misses, misses);
	add(&s->cache_errors, errors);
}

void metrics_add_pg_errors(struct metrics_slot *s, uint64_t errors)
{
	if (s)
		add(&s->pg_errors, errors);
}

static const char *route_label(int r)
{
	if (r == METRICS_ROUTE_NOT_FOUND)
		return "not_found";
	if (r == METRICS_ROUTE_NO_METHOD)
		return "method_not_allowed";
	return router_name((enum route_id)r);
}

static uint64_t sum_field(struct metrics *m, size_t offset)
{
	uint64_t total = 0;

	for (int i = 0; i < m->nslots; i++)
		total += load((const uint64_t *)((const char *)&m->slots[i] + offset));
	return total;
}

#define SUM(m, field) sum_field((m), offsetof(struct metrics_slot, field))

void metrics_render(struct metrics *m, const char *host, struct buf *out)
{
	int alive = 0;

	buf_puts(out, "# HELP contacts_requests_total Requests answered, by route and status.\n"
		      "# TYPE contacts_requests_total counter\n");
	for (int r = 0; r < NROUTES; r++)
		for (size_t st = 0; st < NSTATUS; st++) {
			uint64_t v = SUM(m, requests[r][st]);

			if (!v)
				continue;
			if (status_codes[st])
				buf_printf(out, "contacts_requests_total{host=\"%s\",route=\"%s\",status=\"%d\"} %llu\n",
					   host, route_label(r), status_codes[st], (unsigned long long)v);
			else
				buf_printf(out, "contacts_requests_total{host=\"%s\",route=\"%s\",status=\"other\"} %llu\n",
					   host, route_label(r), (unsigned long long)v);
		}

	buf_puts(out, "# HELP contacts_request_duration_seconds Time from the request's arrival at a worker to its answer.\n"
		      "# TYPE contacts_request_duration_seconds histogram\n");
	for (int r = 0; r < NROUTES; r++) {
		uint64_t cum = 0, count = 0;

		for (size_t b = 0; b <= NBOUNDS; b++)
			count += SUM(m, latency[r][b]);
		if (!count)
			continue;
		for (size_t b = 0; b <= NBOUNDS; b++) {
			cum += SUM(m, latency[r][b]);
			if (b < NBOUNDS)
				buf_printf(out, "contacts_request_duration_seconds_bucket{host=\"%s\",route=\"%s\",le=\"%g\"} %llu\n",
					   host, route_label(r), (double)bounds_us[b] / 1e6,
					   (unsigned long long)cum);
			else
				buf_printf(out, "contacts_request_duration_seconds_bucket{host=\"%s\",route=\"%s\",le=\"+Inf\"} %llu\n",
					   host, route_label(r), (unsigned long long)cum);
		}
		buf_printf(out, "contacts_request_duration_seconds_sum{host=\"%s\",route=\"%s\"} %.6f\n",
			   host, route_label(r), (double)SUM(m, latency_sum_us[r]) / 1e6);
		buf_printf(out, "contacts_request_duration_seconds_count{host=\"%s\",route=\"%s\"} %llu\n",
			   host, route_label(r), (unsigned long long)count);
	}

	buf_printf(out, "# HELP contacts_cache_hits_total Reads answered from Redis.\n"
			"# TYPE contacts_cache_hits_total counter\n"
			"contacts_cache_hits_total{host=\"%s\"} %llu\n"
			"# HELP contacts_cache_misses_total Reads Redis did not have.\n"
			"# TYPE contacts_cache_misses_total counter\n"
			"contacts_cache_misses_total{host=\"%s\"} %llu\n"
			"# HELP contacts_cache_errors_total Redis calls that failed.\n"
			"# TYPE contacts_cache_errors_total counter\n"
			"contacts_cache_errors_total{host=\"%s\"} %llu\n"
			"# HELP contacts_postgres_errors_total PostgreSQL statements or connections that failed.\n"
			"# TYPE contacts_postgres_errors_total counter\n"
			"contacts_postgres_errors_total{host=\"%s\"} %llu\n",
		   host, (unsigned long long)SUM(m, cache_hits),
		   host, (unsigned long long)SUM(m, cache_misses),
		   host, (unsigned long long)SUM(m, cache_errors),
		   host, (unsigned long long)SUM(m, pg_errors));

	buf_puts(out, "# HELP contacts_worker_cache_hits_total Reads answered from Redis, by worker slot.\n"
		      "# TYPE contacts_worker_cache_hits_total counter\n");
	for (int i = 0; i < m->nslots; i++) {
		if (metrics_slot_pid(&m->slots[i]))
			alive++;
		else if (!load(&m->slots[i].cache_hits))
			continue; /* never used */
		buf_printf(out, "contacts_worker_cache_hits_total{host=\"%s\",slot=\"%d\"} %llu\n", host, i,
			   (unsigned long long)load(&m->slots[i].cache_hits));
	}
	buf_printf(out, "# HELP contacts_workers_alive Workers running now.\n"
			"# TYPE contacts_workers_alive gauge\n"
			"contacts_workers_alive{host=\"%s\"} %d\n", host, alive);
}
