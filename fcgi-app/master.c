/* master.c - the pool: socket, fork, reap, respawn, signals, sd_notify.
 *
 * Signals are blocked in the master and taken synchronously with
 * sigtimedwait(), so there is no handler state at all:
 *   SIGCHLD  reap; replace a worker that died (backing off when they die
 *            young, against crash loops)
 *   SIGHUP   re-read the configuration; start a new worker, wait until it
 *            accepts, retire an old one; one at a time.  A SIGHUP sent
 *            with sigqueue() and RELOAD_ASK (contacts-fcgi --reload, the
 *            unit's ExecReload=) is answered: SIGUSR1 to the sender once
 *            the new configuration is in force, SIGUSR2 when it is refused
 *   SIGTERM  stop: every worker finishes the request in hand, within
 *   SIGINT   shutdown_timeout, then is killed
 *
 * Under WatchdogSec= the loop sends WATCHDOG=1 every half interval: a
 * master stuck anywhere stops sending, and systemd restarts the service.
 */
#include "master.h"

#include <errno.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "metrics.h"
#include "hostlease.h"
#include "inflight.h"
#include "ratelimit.h"
#include "store.h"
#include "worker.h"

#define YOUNG_DEATH_MS 2000
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 10000
#define READY_TIMEOUT_MS 5000
/* The value a reload request carries (sigqueue), so that a plain SIGHUP,
 * whose sender may be gone, is never answered. */
#define RELOAD_ASK 0x52454c44 /* "RELD" */
/* How long contacts-fcgi --reload waits for the verdict: under systemd's
 * default TimeoutStartSec= (90 s), which also bounds ExecReload=. */
#define RELOAD_WAIT_S 85

struct child {
	pid_t pid;       /* 0: free */
	int slot;        /* metrics slot */
	int64_t started_ms;
	bool retiring;   /* sent SIGTERM by a reload: not replaced */
};

struct master {
	struct config cfg;
	const char *config_path;
	int listen_fd;
	bool own_unix_socket;
	struct metrics *metrics;
	struct ratelimit *limits;
	struct inflight *inflight;
	struct hostlease *lease;
	int nslots;
	struct child *children; /* nslots entries */
	int backoff_ms;
	int64_t respawn_at_ms;
	bool stopping;
	int64_t watchdog_ms;      /* WATCHDOG=1 this often; 0: no watchdog */
	int64_t watchdog_next_ms;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET. */
static void notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	size_t len;
	int fd;

	if (!path || (path[0] != '/' && path[0] != '@'))
		return;
	len = strlen(path);
	if (len >= sizeof(sa.sun_path))
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, len);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0'; /* abstract namespace */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, state, strlen(state), 0, (struct sockaddr *)&sa,
		   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
		log_warn("msg=\"cannot notify systemd\" error=%s", LOGQ(strerror(errno)));
	close(fd);
}

/* Half the watchdog interval that systemd set for this process
 * ($WATCHDOG_USEC, $WATCHDOG_PID), in milliseconds; 0 when there is none.
 * The variables are removed: the workers must not think it theirs. */
static int64_t watchdog_interval(void)
{
	const char *usec = getenv("WATCHDOG_USEC");
	const char *pid = getenv("WATCHDOG_PID");
	long long v = usec ? atoll(usec) : 0;
	bool ours = !pid || atol(pid) == (long)getpid();

	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	if (v <= 0 || !ours)
		return 0;
	return v / 2000 > 0 ? v / 2000 : 1;
}

/* WATCHDOG=1 when it is due.  Called from the master's loop and from the
 * steps of a reload, never from anywhere that could block for long. */
static void watchdog_kick(struct master *m)
{
	int64_t now;

	if (!m->watchdog_ms)
		return;
	now = now_ms();
	if (now < m->watchdog_next_ms)
		return;
	notify("WATCHDOG=1");
	m->watchdog_next_ms = now + m->watchdog_ms;
}

/* The socket systemd passed (LISTEN_FDS), or -1. */
static int inherited_socket(void)
{
	const char *pid = getenv("LISTEN_PID");
	const char *fds = getenv("LISTEN_FDS");

	if (!pid || !fds || atol(pid) != (long)getpid() || atoi(fds) < 1)
		return -1;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return 3; /* SD_LISTEN_FDS_START */
}

static int open_listener(struct master *m)
{
	const char *addr = m->cfg.listen;
	int fd = inherited_socket();

	if (fd >= 0) {
		log_info("msg=\"using the socket passed by systemd\"");
	} else {
		if (addr[0] == '/') {
			/* A stale socket from an unclean stop would make bind
			 * fail; nothing else should live at this path. */
			struct stat st;

			if (stat(addr, &st) == 0 && S_ISSOCK(st.st_mode))
				unlink(addr);
			m->own_unix_socket = true;
		}
		fd = FCGX_OpenSocket(addr, m->cfg.backlog);
		if (fd < 0) {
			log_error("msg=\"cannot listen\" address=%s", LOGQ(addr));
			return -1;
		}
		if (addr[0] == '/' && chmod(addr, (mode_t)m->cfg.listen_mode) < 0)
			log_warn("msg=\"cannot chmod the socket\" address=%s error=%s",
				 LOGQ(addr), LOGQ(strerror(errno)));
		log_info("msg=\"listening\" address=%s", LOGQ(addr));
	}
	/* Non-blocking: a worker that loses the race for a connection gets
	 * EAGAIN and goes back to poll() instead of blocking in accept(). */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		log_error("msg=\"cannot make the socket non-blocking\" error=%s",
			  LOGQ(strerror(errno)));
		return -1;
	}
	m->listen_fd = fd;
	return 0;
}

static int running_count(const struct master *m, bool include_retiring)
{
	int n = 0;

	for (int i = 0; i < m->nslots; i++)
		if (m->children[i].pid && (include_retiring || !m->children[i].retiring))
			n++;
	return n;
}

/* Forks a worker into a free slot.  With wait_ready, returns only once it
 * accepts (or after READY_TIMEOUT_MS).  Returns its pid, or -1. */
static pid_t spawn(struct master *m, bool wait_ready)
{
	struct worker_args args;
	int slot = -1, pfd[2] = {-1, -1};
	pid_t pid;

	for (int i = 0; i < m->nslots; i++)
		if (!m->children[i].pid) {
			slot = i;
			break;
		}
	if (slot < 0) {
		log_error("msg=\"no free worker slot\"");
		return -1;
	}
	if (wait_ready && pipe2(pfd, O_CLOEXEC) < 0)
		pfd[0] = pfd[1] = -1;
	pid = fork();
	if (pid < 0) {
		log_error("msg=\"cannot fork\" error=%s", LOGQ(strerror(errno)));
		if (pfd[0] >= 0) {
			close(pfd[0]);
			close(pfd[1]);
		}
		return -1;
	}
	if (pid == 0) {
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (pfd[0] >= 0)
			close(pfd[0]);
		args.cfg = &m->cfg;
		args.listen_fd = m->listen_fd;
		args.metrics = m->metrics;
		args.limits = m->limits;
		args.inflight = m->inflight;
		args.lease = m->lease;
		args.slot = slot;
		args.ready_fd = pfd[1];
		_exit(worker_run(&args));
	}
	m->children[slot].pid = pid;
	m->children[slot].slot = slot;
	m->children[slot].started_ms = now_ms();
	m->children[slot].retiring = false;
	metrics_slot_set_pid(metrics_slot(m->metrics, slot), pid);
	if (pfd[0] >= 0) {
		struct pollfd p = {.fd = pfd[0], .events = POLLIN};
		char c;

		close(pfd[1]);
		if (poll(&p, 1, READY_TIMEOUT_MS) <= 0 || read(pfd[0], &c, 1) != 1)
			log_warn("msg=\"new worker did not report ready\" pid=%d", (int)pid);
		close(pfd[0]);
	}
	return pid;
}

static void describe_exit(int status, char *out, size_t n)
{
	if (WIFSIGNALED(status))
		snprintf(out, n, "signal=%d", WTERMSIG(status));
	else
		snprintf(out, n, "exit_status=%d", WEXITSTATUS(status));
}

static void reap(struct master *m)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		char how[32];

		describe_exit(status, how, sizeof(how));
		for (int i = 0; i < m->nslots; i++) {
			struct child *c = &m->children[i];
			bool expected;

			if (c->pid != pid)
				continue;
			expected = m->stopping || c->retiring;
			if (expected)
				log_info("msg=\"worker exited\" worker_pid=%d %s", (int)pid, how);
			else
				log_error("msg=\"worker died\" worker_pid=%d %s lived_ms=%lld",
					  (int)pid, how, (long long)(now_ms() - c->started_ms));
			if (!expected) {
				if (now_ms() - c->started_ms < YOUNG_DEATH_MS) {
					m->backoff_ms = m->backoff_ms ? m->backoff_ms * 2
								      : BACKOFF_MIN_MS;
					if (m->backoff_ms > BACKOFF_MAX_MS)
						m->backoff_ms = BACKOFF_MAX_MS;
				} else {
					m->backoff_ms = 0;
				}
				m->respawn_at_ms = now_ms() + m->backoff_ms;
			}
			metrics_slot_set_pid(metrics_slot(m->metrics, c->slot), 0);
			c->pid = 0;
			c->retiring = false;
		}
	}
}

static void fill_pool(struct master *m)
{
	if (m->stopping || now_ms() < m->respawn_at_ms)
		return;
	while (running_count(m, false) < m->cfg.workers)
		if (spawn(m, false) < 0)
			break;
}

/* Returns 0 once the new configuration is in force, -1 when it is refused
 * (the running one is kept). */
static int reload(struct master *m)
{
	struct config fresh;
	char err[CONFIG_ERR_LEN];
	char state[64];
	struct timespec ts;
	pid_t *old;
	int nold = 0;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(state, sizeof(state), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)ts.tv_sec * 1000000ull +
			 (unsigned long long)ts.tv_nsec / 1000ull);
	notify(state);
	if (config_load(&fresh, m->config_path, err, sizeof(err)) < 0) {
		log_error("msg=\"reload refused, keeping the running configuration\" error=%s",
			  LOGQ(err));
		notify("READY=1");
		return -1;
	}
	if (strcmp(fresh.listen, m->cfg.listen) != 0)
		log_warn("msg=\"listen changes only with a restart\"");
	if (fresh.workers == 0)
		fresh.workers = m->cfg.workers;
	if (fresh.workers > m->nslots / 2) {
		log_warn("msg=\"workers capped at %d until a restart\"", m->nslots / 2);
		fresh.workers = m->nslots / 2;
	}
	/* Swap; the old settings stay valid in the old workers (their copy). */
	free(fresh.listen);
	fresh.listen = m->cfg.listen;
	m->cfg.listen = NULL;
	config_cleanup(&m->cfg);
	m->cfg = fresh;
	hostlease_configure(m->lease, m->cfg.host_lease_ms, m->cfg.auth_cache_ms);
	log_set_level(m->cfg.log_level);

	old = xcalloc((size_t)m->nslots, sizeof(*old));
	for (int i = 0; i < m->nslots; i++)
		if (m->children[i].pid && !m->children[i].retiring)
			old[nold++] = m->children[i].pid;
	/* One at a time: a new worker accepts before an old one goes. */
	for (int i = 0; i < nold || i < m->cfg.workers; i++) {
		watchdog_kick(m);
		if (i < m->cfg.workers)
			spawn(m, true);
		if (i >= nold)
			continue;
		for (int j = 0; j < m->nslots; j++)
			if (m->children[j].pid == old[i])
				m->children[j].retiring = true;
		kill(old[i], SIGTERM);
	}
	free(old);
	log_info("msg=\"configuration reloaded\" workers=%d", m->cfg.workers);
	notify("READY=1");
	return 0;
}

/* Answers a reload request (see the top of this file). */
static void answer_reload(const siginfo_t *info, int rc)
{
	if (info->si_code != SI_QUEUE || info->si_value.sival_int != RELOAD_ASK ||
	    info->si_pid <= 0)
		return;
	if (kill(info->si_pid, rc == 0 ? SIGUSR1 : SIGUSR2) < 0)
		log_warn("msg=\"cannot answer the reload request\" pid=%d error=%s",
			 (int)info->si_pid, LOGQ(strerror(errno)));
}

static void stop(struct master *m)
{
	int64_t deadline;

	m->stopping = true;
	notify("STOPPING=1");
	log_info("msg=\"stopping\" workers=%d", running_count(m, true));
	for (int i = 0; i < m->nslots; i++)
		if (m->children[i].pid)
			kill(m->children[i].pid, SIGTERM);
	deadline = now_ms() + (int64_t)m->cfg.shutdown_timeout * 1000;
	while (running_count(m, true) > 0 && now_ms() < deadline) {
		reap(m);
		if (running_count(m, true) > 0)
			usleep(20000);
	}
	for (int i = 0; i < m->nslots; i++)
		if (m->children[i].pid) {
			log_warn("msg=\"worker did not stop in time, killing it\" worker_pid=%d",
				 (int)m->children[i].pid);
			kill(m->children[i].pid, SIGKILL);
		}
	while (running_count(m, true) > 0) {
		reap(m);
		if (running_count(m, true) > 0)
			usleep(20000);
	}
}

/* After the workers are gone: the pool's lease rows go, unless a write
 * of it is still unsettled (then another pool, or this host's next one,
 * takes the lease up and settles it; hostlease.h). */
static void release_lease(struct master *m)
{
	struct store *s;
	char name[64];

	if (inflight_pending(m->inflight))
		return;
	s = store_new(m->cfg.database, 5000);
	hostlease_app_name(m->lease, name, sizeof(name));
	store_set_application_name(s, name);
	hostlease_release(m->lease, s);
	store_free(s);
}

static void write_pid_file(const char *path)
{
	FILE *f;

	if (!path || !*path)
		return;
	f = fopen(path, "w");
	if (!f) {
		log_warn("msg=\"cannot write the pid file\" path=%s error=%s",
			 LOGQ(path), LOGQ(strerror(errno)));
		return;
	}
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
}

int master_run(struct config *cfg, const char *config_path)
{
	struct master m;
	sigset_t set;
	int status = 0;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	memset(&m, 0, sizeof(m));
	m.cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	m.config_path = config_path;
	m.listen_fd = -1;
	/* Six per core: a write holds its worker while PostgreSQL flushes its
	 * commit, and a core has other work meanwhile; more writes in flight
	 * also share a flush (docs/performance.md: on 2 cores S5 9% faster
	 * with 8 workers than with 4, and 12 against 8 S5 +7%, S6 +5%, M1
	 * +5%, S1 the same; 16 no better than 12). */
	if (m.cfg.workers == 0)
		m.cfg.workers = (int)(cores > 0 ? cores * 6 : 6);
	/* Twice the pool: a reload runs old and new workers side by side. */
	m.nslots = m.cfg.workers * 2 + 2;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (open_listener(&m) < 0) {
		status = 1;
		goto out;
	}
	m.metrics = metrics_new(m.nslots);
	if (!m.metrics) {
		log_error("msg=\"cannot map the shared counters\"");
		status = 1;
		goto out;
	}
	m.limits = ratelimit_new();
	m.inflight = inflight_new(m.nslots);
	m.lease = hostlease_new(m.cfg.host_name, m.cfg.host_lease_ms, m.cfg.auth_cache_ms);
	if (!m.limits || !m.inflight || !m.lease) {
		log_error("msg=\"cannot map the shared rate limits and writes\"");
		status = 1;
		goto out;
	}
	m.watchdog_ms = watchdog_interval();
	m.children = xcalloc((size_t)m.nslots, sizeof(*m.children));
	for (int i = 0; i < m.cfg.workers; i++)
		spawn(&m, false);
	write_pid_file(m.cfg.pid_file);
	log_info("msg=\"pool started\" workers=%d", m.cfg.workers);
	notify("READY=1");

	for (;;) {
		int64_t wait_ms = m.watchdog_ms && m.watchdog_ms < 200 ? m.watchdog_ms : 200;
		struct timespec timeout = {.tv_sec = 0, .tv_nsec = (long)wait_ms * 1000000};
		siginfo_t info;
		int sig;

		watchdog_kick(&m);
		sig = sigtimedwait(&set, &info, &timeout);
		if (sig == SIGTERM || sig == SIGINT) {
			stop(&m);
			release_lease(&m);
			break;
		}
		if (sig == SIGHUP)
			answer_reload(&info, reload(&m));
		reap(&m);
		fill_pool(&m);
	}
	log_info("msg=\"pool stopped\"");
out:
	if (m.own_unix_socket)
		unlink(m.cfg.listen);
	if (m.cfg.pid_file && *m.cfg.pid_file)
		unlink(m.cfg.pid_file);
	free(m.children);
	metrics_free(m.metrics);
	ratelimit_free(m.limits);
	inflight_free(m.inflight);
	hostlease_free(m.lease);
	config_cleanup(&m.cfg);
	return status;
}

int master_request_reload(pid_t pid)
{
	union sigval ask = {.sival_int = RELOAD_ASK};
	struct timespec second = {.tv_sec = 1, .tv_nsec = 0};
	sigset_t answers;

	sigemptyset(&answers);
	sigaddset(&answers, SIGUSR1);
	sigaddset(&answers, SIGUSR2);
	sigprocmask(SIG_BLOCK, &answers, NULL);
	if (sigqueue(pid, SIGHUP, ask) < 0) {
		fprintf(stderr, "contacts-fcgi: cannot signal the pool (pid %d): %s\n",
			(int)pid, strerror(errno));
		return 1;
	}
	for (int waited = 0; waited < RELOAD_WAIT_S;) {
		siginfo_t info;
		int sig = sigtimedwait(&answers, &info, &second);

		if (sig < 0) {
			if (errno != EAGAIN && errno != EINTR)
				break;
			if (errno == EAGAIN)
				waited++;
			if (kill(pid, 0) < 0 && errno == ESRCH) {
				fprintf(stderr, "contacts-fcgi: the pool (pid %d) exited "
					"during the reload\n", (int)pid);
				return 1;
			}
			continue;
		}
		if (info.si_pid != pid)
			continue;
		if (sig == SIGUSR1) {
			printf("contacts-fcgi: configuration reloaded\n");
			return 0;
		}
		fprintf(stderr, "contacts-fcgi: the pool refused the configuration and "
			"keeps the running one (its log says why)\n");
		return 1;
	}
	fprintf(stderr, "contacts-fcgi: no answer from the pool (pid %d) within %d s\n",
		(int)pid, RELOAD_WAIT_S);
	return 1;
}
