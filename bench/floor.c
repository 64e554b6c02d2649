/* floor.c - the FastCGI floor: the cheapest responder behind the same nginx.
 *
 * Pre-forks N processes on one listening socket; each runs a bare
 * FCGX_Accept_r loop and answers every request with a canned FastCGI
 * answer (status line, headers, blank line, body) read from a file at
 * start-up.  Requests whose QUERY_STRING holds "email=" get the first
 * file, all others the second.  No parsing, no allocation per request:
 * whatever the service does above this is its own cost.
 *
 * With REDIS (host:port), a request whose QUERY_STRING holds "via=redis"
 * is answered with the bytes of the Redis key floor:email or floor:page
 * instead, one GET each time (the caller stores the same answers there):
 * the floor of any design that reads a shared cache on every request.
 *
 * With FLOOR_PG in the environment (a libpq conninfo), a POST is the write
 * floor: its body read and dropped, S5's statement run on PostgreSQL
 * (FLOOR_SQL: a file with the statement, $1..$13 as the service binds them,
 * prepared once per process) for a random one of the FLOOR_N seeded
 * contacts of organization FLOOR_ORG, with a random name, as pgbench does,
 * then one INCR in Redis (the one round trip with which a write retires
 * what the cache holds), and the answer FLOOR_ANSWER: the floor of any
 * design that runs the service's write and tells the cache, with no
 * parsing, no validation and no encoding of its own.
 *
 *   floor LISTEN NPROC EMAIL_ANSWER PAGE_ANSWER [REDIS]
 *
 * LISTEN is a unix socket path or ":port" (FCGX_OpenSocket's syntax).
 * SIGTERM to the parent stops the children too.
 */
#include <fcgiapp.h>
#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

struct answer {
	char *data;
	int len;
};

static int load(const char *path, struct answer *a)
{
	FILE *f = fopen(path, "rb");
	long n;

	if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 || !(a->data = malloc((size_t)n + 1)) ||
	    fread(a->data, 1, (size_t)n, f) != (size_t)n) {
		perror(path);
		return -1;
	}
	a->len = (int)n;
	fclose(f);
	return 0;
}

static redisContext *redis_connect(const char *addr)
{
	char host[256];
	const char *colon = addr ? strrchr(addr, ':') : NULL;
	redisContext *c;

	if (!colon || (size_t)(colon - addr) >= sizeof(host))
		return NULL;
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	c = redisConnect(host, atoi(colon + 1));
	if (!c || c->err) {
		fprintf(stderr, "floor: cannot connect to redis at %s\n", addr);
		_exit(1);
	}
	return c;
}

/* The write floor's settings (FLOOR_PG and the rest); pg NULL: none. */
struct write_floor {
	PGconn *pg;
	const char *org;
	long n;
	struct answer answer;
	unsigned seed;
};

static void write_connect(struct write_floor *w, bool have_redis)
{
	const char *conninfo = getenv("FLOOR_PG");
	struct answer sql;
	PGresult *res;

	w->pg = NULL;
	if (!conninfo)
		return;
	w->org = getenv("FLOOR_ORG");
	w->n = getenv("FLOOR_N") ? atol(getenv("FLOOR_N")) : 0;
	if (!have_redis || !w->org || w->n < 1 || !getenv("FLOOR_SQL") || !getenv("FLOOR_ANSWER") ||
	    load(getenv("FLOOR_SQL"), &sql) < 0 || load(getenv("FLOOR_ANSWER"), &w->answer) < 0) {
		fprintf(stderr, "floor: FLOOR_PG needs REDIS, FLOOR_ORG, FLOOR_N, FLOOR_SQL, FLOOR_ANSWER\n");
		_exit(1);
	}
	sql.data[sql.len] = '\0';
	w->pg = PQconnectdb(conninfo);
	if (PQstatus(w->pg) != CONNECTION_OK) {
		fprintf(stderr, "floor: %s", PQerrorMessage(w->pg));
		_exit(1);
	}
	res = PQprepare(w->pg, "s5", sql.data, 0, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		fprintf(stderr, "floor: cannot prepare FLOOR_SQL: %s", PQerrorMessage(w->pg));
		_exit(1);
	}
	PQclear(res);
	free(sql.data);
	w->seed = (unsigned)getpid();
}

/* A POST: its body dropped, S5's statement, one INCR, the answer. */
static void write_once(struct write_floor *w, redisContext *rc, FCGX_Request *r)
{
	char body[65536], id[16], email[64], key[64], name[32];
	long p = 1 + (long)(rand_r(&w->seed) % w->n);
	const char *params[13] = {w->org, id, email, key, "2", NULL, name, NULL,
				  NULL, NULL, "{}", "{}", NULL};
	PGresult *res;
	redisReply *rep;

	while (FCGX_GetStr(body, sizeof(body), r->in) > 0)
		;
	snprintf(id, sizeof(id), "%09d", 100000000 + rand_r(&w->seed) % 900000000);
	snprintf(email, sizeof(email), "User%ld@Bench.Example.com", p);
	snprintf(key, sizeof(key), "user%ld@bench.example.com", p);
	snprintf(name, sizeof(name), "Bench %d", rand_r(&w->seed));
	res = PQexecPrepared(w->pg, "s5", 13, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		fprintf(stderr, "floor: S5's statement: %s", PQerrorMessage(w->pg));
		_exit(1);
	}
	PQclear(res);
	rep = redisCommand(rc, "INCR floor:writes");
	if (!rep || rep->type != REDIS_REPLY_INTEGER)
		_exit(1);
	freeReplyObject(rep);
	FCGX_PutStr(w->answer.data, w->answer.len, r->out);
}

static void serve(int sock, const struct answer *email, const struct answer *page,
		  const char *redis)
{
	redisContext *rc = redis ? redis_connect(redis) : NULL;
	struct write_floor w;
	FCGX_Request r;

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	write_connect(&w, rc != NULL);
	if (FCGX_InitRequest(&r, sock, 0) != 0)
		_exit(1);
	while (FCGX_Accept_r(&r) >= 0) {
		const char *qs = FCGX_GetParam("QUERY_STRING", r.envp);
		const char *method = FCGX_GetParam("REQUEST_METHOD", r.envp);
		bool by_email = qs && strstr(qs, "email=");
		const struct answer *a = by_email ? email : page;

		if (w.pg && method && strcmp(method, "POST") == 0) {
			write_once(&w, rc, &r);
		} else if (rc && qs && strstr(qs, "via=redis")) {
			redisReply *rep = redisCommand(rc, "GET %s", by_email ? "floor:email"
									      : "floor:page");

			if (!rep || rep->type != REDIS_REPLY_STRING)
				_exit(1);
			FCGX_PutStr(rep->str, (int)rep->len, r.out);
			freeReplyObject(rep);
		} else {
			FCGX_PutStr(a->data, a->len, r.out);
		}
		FCGX_Finish_r(&r);
	}
	_exit(0);
}

int main(int argc, char **argv)
{
	struct answer email, page;
	int n, sock;
	pid_t *kids;

	if ((argc != 5 && argc != 6) || (n = atoi(argv[2])) < 1) {
		fprintf(stderr, "usage: %s LISTEN NPROC EMAIL_ANSWER PAGE_ANSWER [REDIS]\n",
			argv[0]);
		return 2;
	}
	if (load(argv[3], &email) < 0 || load(argv[4], &page) < 0)
		return 1;
	if (FCGX_Init() != 0 || (sock = FCGX_OpenSocket(argv[1], 1024)) < 0) {
		fprintf(stderr, "floor: cannot listen on %s\n", argv[1]);
		return 1;
	}
	kids = calloc((size_t)n, sizeof(*kids));
	for (int i = 0; i < n; i++) {
		kids[i] = fork();
		if (kids[i] == 0)
			serve(sock, &email, &page, argc == 6 ? argv[5] : NULL);
		if (kids[i] < 0) {
			perror("fork");
			return 1;
		}
	}
	/* Wait for SIGTERM (default action ends us; the children get
	 * SIGTERM through PR_SET_PDEATHSIG), or for a child to die. */
	while (wait(NULL) > 0)
		;
	return 0;
}
