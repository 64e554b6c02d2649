/* fault.c - fault hooks for the end-to-end tests (see fault.h).  Only in
 * builds configured with --enable-fault-hooks. */
#include "fault.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* The longest pause a test may ask for: a forgotten file must not hold a
 * worker for ever. */
#define FAULT_PAUSE_MAX_MS 60000L

/* Reads the pause (decimal milliseconds) from fd; -1 when it is not one. */
static long read_pause(int fd)
{
	char text[32];
	ssize_t n = read(fd, text, sizeof(text) - 1);
	char *end;
	long ms;

	if (n <= 0)
		return -1;
	text[n] = '\0';
	errno = 0;
	ms = strtol(text, &end, 10);
	if (errno || end == text || ms < 0)
		return -1;
	return ms > FAULT_PAUSE_MAX_MS ? FAULT_PAUSE_MAX_MS : ms;
}

/* Writes our pid to path, whole or not at all (a temporary file renamed). */
static void write_pid(const char *path)
{
	char tmp[PATH_MAX];
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.%ld", path, (long)getpid()) >=
	    (int)sizeof(tmp))
		return;
	f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "%ld\n", (long)getpid());
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		unlink(tmp);
}

void fault_point(const char *point)
{
	static const char *dir;
	static int looked;
	char armed[PATH_MAX], taken[PATH_MAX], pidfile[PATH_MAX];
	struct timespec pause;
	long ms;
	int fd;

	if (!looked) {
		dir = getenv("CONTACTS_FAULT_DIR");
		looked = 1;
	}
	if (!dir || !*dir)
		return;
	if (snprintf(armed, sizeof(armed), "%s/fault.%s", dir, point) >=
		    (int)sizeof(armed) ||
	    snprintf(taken, sizeof(taken), "%s.taken.%ld", armed,
		     (long)getpid()) >= (int)sizeof(taken) ||
	    snprintf(pidfile, sizeof(pidfile), "%s.pid", armed) >=
		    (int)sizeof(pidfile))
		return;
	/* Not armed (the usual case): one failed rename. */
	if (rename(armed, taken) != 0)
		return;
	fd = open(taken, O_RDONLY | O_CLOEXEC);
	ms = fd >= 0 ? read_pause(fd) : -1;
	if (fd >= 0)
		close(fd);
	unlink(taken);
	if (ms < 0) {
		log_warn(
			"msg=\"fault hook: not a pause in milliseconds\" point=%s",
			LOGQ(point));
		return;
	}
	log_warn("msg=\"fault hook: holding the worker\" point=%s pause_ms=%ld",
		 LOGQ(point), ms);
	write_pid(pidfile);
	pause.tv_sec = ms / 1000;
	pause.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&pause, &pause) != 0 && errno == EINTR)
		;
}
