/* worker.c - the accept loop and the path of one request through the
 * modules: request -> router -> policy -> handler -> response. */
#include "worker.h"

#include <errno.h>
#include <fcgiapp.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "auth.h"
#include "fault.h"
#include "handlers/handlers.h"
#include "idempotency.h"
#include "log.h"
#include "policy.h"
#include "request.h"
#include "response.h"
#include "router.h"
#include "writes.h"

static handler_fn *const handlers[ROUTE__COUNT] = {
	[ROUTE_HEALTHZ] = handle_healthz,
	[ROUTE_METRICS] = handle_metrics,
	[ROUTE_TEST] = handle_test,
	[ROUTE_CONTACTS_GET] = handle_contacts_get,
	[ROUTE_CONTACTS_POST] = handle_contacts_post,
	[ROUTE_CONTACTS_BULK] = handle_contacts_bulk,
	[ROUTE_CONTACTS_DELETE] = handle_contacts_delete,
	[ROUTE_CHANGES_GET] = handle_changes_get,
	[ROUTE_CONTACT_GET] = handle_contact_get,
	[ROUTE_CONTACT_PATCH] = handle_contact_patch,
	[ROUTE_CONTACT_DELETE] = handle_contact_delete,
	[ROUTE_LISTS_GET] = handle_lists_get,
	[ROUTE_LISTS_POST] = handle_lists_post,
	[ROUTE_LIST_GET] = handle_list_get,
	[ROUTE_LIST_PATCH] = handle_list_patch,
	[ROUTE_LIST_DELETE] = handle_list_delete,
	[ROUTE_LIST_CONTACTS_GET] = handle_list_contacts_get,
	[ROUTE_FIELDS_GET] = handle_fields_get,
	[ROUTE_FIELDS_POST] = handle_fields_post,
	[ROUTE_FIELD_DELETE] = handle_field_delete,
	[ROUTE_SUPPRESSIONS_DELETE] = handle_suppressions_delete,
};

/* Requests served back to back before pending signals are let in. */
#define STOP_CHECK 32

/* Set by the SIGTERM handler; read by the loop between requests. */
static volatile sig_atomic_t stop_requested;

static void on_term(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static bool is_write(const char *method)
{
	return strcmp(method, "POST") == 0 || strcmp(method, "PATCH") == 0 ||
	       strcmp(method, "DELETE") == 0;
}

/* Routes, admits (policy.h) and runs the handler; returns the metrics route.
 * HEAD is routed as GET: the handler answers as for a GET, and
 * response_send() leaves the body out (res->head_only). */
static int dispatch(struct app *app, struct request *req,
		    struct response *res, const char **route_name,
		    struct principal *who)
{
	struct route_match m;
	const struct principal *whop = NULL;

	switch (router_match(res->head_only ? "GET" : req->method, req->path, &m)) {
	case ROUTE_NO_PATH:
		*route_name = m.name;
		response_fail(res, API_NOT_FOUND, NULL, "no such path");
		return METRICS_ROUTE_NOT_FOUND;
	case ROUTE_NO_METHOD:
		*route_name = m.name;
		response_header(res, "Allow", "%s", m.allow);
		response_fail(res, API_METHOD_NOT_ALLOWED, NULL,
			      "method not allowed; allowed: %s", m.allow);
		return METRICS_ROUTE_NO_METHOD;
	case ROUTE_FOUND:
		break;
	}
	*route_name = m.name;
	req->param = m.param;
	if (m.needs_auth) {
		if (policy_admit(app, req, res, who) != POLICY_ADMIT)
			return (int)m.id;
		whop = who;
	}
	if (whop && is_write(req->method)) {
		if (idem_begin(app, req, whop, res) == IDEM_RUN) {
			handlers[m.id](app, req, whop, res);
			idem_end(app, req, whop, res);
		}
		return (int)m.id;
	}
	handlers[m.id](app, req, whop, res);
	return (int)m.id;
}

/* The request line: method, route, status, duration, request id, and the
 * organization and key id (never the key) of an authenticated request,
 * the error code of an error.  Every error and every slow request has one;
 * of the others, all, one in N or none (access_log), so that the journal
 * keeps up at full load.  A 5xx is logged as an error. */
static void log_request(struct app *app, const struct request *req,
			const struct response *res, const char *route,
			const struct principal *who, uint64_t dt_us)
{
	const struct config *cfg = app->cfg;
	enum log_level level = res->status >= 500 ? LOG_ERROR : LOG_INFO;
	bool slow = cfg->access_log_slow_ms > 0 &&
		    dt_us >= (uint64_t)cfg->access_log_slow_ms * 1000u;
	char whom[64] = "", code[64] = "";

	if (level > log_get_level())
		return;
	if (res->status < 400 && !slow &&
	    (cfg->access_log == 0 ||
	     app->access_successes++ % (unsigned)cfg->access_log != 0))
		return;
	/* ids of [A-Za-z0-9] and error codes of [a-z_]: bare */
	if (who->key_id[0])
		snprintf(whom, sizeof(whom), " org=%s key_id=%s", who->key.org_id,
			 who->key_id);
	if (res->status >= 400 && res->error_code)
		snprintf(code, sizeof(code), " error_code=%s", res->error_code);
	log_write(level, req->request_id,
		  "method=%s route=%s status=%d duration_ms=%.3f%s%s%s",
		  LOGQ(req->method), LOGQ(route), res->status, (double)dt_us / 1000.0,
		  whom, code, slow ? " slow=1" : "");
}

static void serve(struct app *app, FCGX_Request *fr, struct request *req,
		  struct response *res)
{
	uint64_t t0 = now_us(), dt;
	const char *route = "-";
	int metric_route = METRICS_ROUTE_NOT_FOUND;
	struct principal who;

	response_reset(res);
	buf_reset(&app->scratch);
	who.key_id[0] = '\0';
	if (request_read(req, fr) < 0) {
		rlog_warn(req->request_id, "msg=\"cannot read the request body\"");
		response_fail(res, API_INVALID_JSON, NULL, "the request body could not be read");
	} else {
		res->head_only = strcmp(req->method, "HEAD") == 0;
		writes_settle(app);
		metric_route = dispatch(app, req, res, &route, &who);
		writes_leave(app);
		if (strcmp(req->method, "GET") == 0 || res->head_only)
			response_conditional(res, req->if_none_match);
	}
	if (response_send(res, &app->scratch, fr) < 0)
		rlog_warn(req->request_id, "msg=\"cannot send the answer (client gone?)\"");
	dt = now_us() - t0;
	log_request(app, req, res, route, &who, dt);
	metrics_observe(app->slot, metric_route, res->status, dt);
	app_publish_metrics(app);
}

int worker_run(const struct worker_args *args)
{
	struct sigaction sa;
	struct app app;
	struct request req;
	struct response res;
	FCGX_Request fr;
	sigset_t stop_signals, wait_mask;
	int status = 0;
	unsigned served = 0;

	memset(&fr, 0, sizeof(fr));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/* SIGTERM and SIGINT stay blocked except inside ppoll(): a stop can
	 * then never interrupt libfcgi between accepting a connection and
	 * reading its request (it would drop the connection, and nginx would
	 * answer 502), nor a request in hand. */
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	sigprocmask(SIG_BLOCK, &stop_signals, &wait_mask);
	sigdelset(&wait_mask, SIGTERM);
	sigdelset(&wait_mask, SIGINT);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);

	/* A page is built in a few hundred KiB that are freed after each
	 * answer; by default glibc hands that memory back to the kernel every
	 * time and faults it in again on the next request.  Keep it. */
	mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
	mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);

	log_set_level(args->cfg->log_level);
	memset(&app, 0, sizeof(app));
	app.cfg = args->cfg;
	app.store = store_new(args->cfg->database, args->cfg->statement_timeout);
	{
		char name[64];

		hostlease_app_name(args->lease, name, sizeof(name));
		store_set_application_name(app.store, name);
	}
	app.cache = cache_new(&(struct cache_settings){
		.addr = args->cfg->redis,
		.sentinels = args->cfg->redis_sentinels,
		.master_name = args->cfg->redis_master_name,
		.timeout_ms = args->cfg->redis_timeout_ms,
		.ttl_s = args->cfg->cache_ttl,
	});
	app.auth = auth_new(args->cfg->auth_cache_ms);
	app.limits = args->limits;
	app.metrics = args->metrics;
	app.slot = metrics_slot(args->metrics, args->slot);
	app.inflight = args->inflight;
	app.lease = args->lease;
	app.slot_index = args->slot;
	buf_init(&app.scratch);
	request_init(&req);
	response_init(&res);

	if (FCGX_Init() != 0 || FCGX_InitRequest(&fr, args->listen_fd, 0) != 0) {
		log_error("msg=\"cannot initialise libfcgi\"");
		status = 1;
		goto out;
	}
	/* Connect early so that the first request does not pay for it.  A
	 * failure here is not fatal: store.c has logged it, and the next
	 * request retries. */
	if (store_ping(app.store) != STORE_OK) {
		/* ignored on purpose (see above) */
	}
	/* A write of the worker that had this slot (or of another that is
	 * gone) may have committed unpublished.  (A test may hold a new
	 * worker here: the others must take that write up meanwhile.) */
	FAULT_POINT("worker_start");
	writes_settle(&app);
	hostlease_tick(app.lease, app.store);
	if (args->ready_fd >= 0) {
		if (write(args->ready_fd, "r", 1) < 0)
			log_warn("msg=\"cannot tell the master we are ready\"");
		close(args->ready_fd);
	}
	log_info("msg=\"worker ready\" slot=%d", args->slot);

	/* Accept first: under load a connection is usually waiting, and the
	 * ppoll() before it would be a system call per request for nothing.
	 * Only when there is none does the worker wait in ppoll(), where a
	 * stop signal gets in; a worker that never runs out of connections
	 * lets pending signals in every STOP_CHECK requests. */
	while (!stop_requested) {
		int rc = FCGX_Accept_r(&fr);

		if (rc == -EAGAIN || rc == -EWOULDBLOCK || rc == -EINTR ||
		    rc == -ECONNABORTED) {
			/* none waiting (or another worker took it) */
			struct pollfd p = {.fd = args->listen_fd, .events = POLLIN};
			struct timespec tick = {.tv_sec = 1, .tv_nsec = 0};

			(void)ppoll(&p, 1, &tick, &wait_mask);
			hostlease_tick(app.lease, app.store);
			continue;
		}
		if (rc < 0) {
			log_error("msg=\"accept failed\" errno=%d", -rc);
			status = 1;
			break;
		}
		serve(&app, &fr, &req, &res);
		FCGX_Finish_r(&fr);
		hostlease_tick(app.lease, app.store);
		if (++served % STOP_CHECK == 0) {
			struct timespec zero = {0, 0};

			(void)ppoll(NULL, 0, &zero, &wait_mask);
		}
	}
	log_info("msg=\"worker stopping\" slot=%d", args->slot);
out:
	FCGX_Free(&fr, 1);
	response_cleanup(&res);
	request_cleanup(&req);
	buf_cleanup(&app.scratch);
	cache_free(app.cache);
	auth_free(app.auth);
	store_free(app.store);
	return status;
}
