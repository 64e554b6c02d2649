/* lease.c - waiting out the key leases. */
#include "lease.h"

#include <errno.h>
#include <time.h>

void lease_wait(int lease_ms)
{
	struct timespec left = {.tv_sec = (lease_ms + 1) / 1000,
				.tv_nsec = (long)((lease_ms + 1) % 1000) * 1000000L};

	if (lease_ms <= 0)
		return;
	while (nanosleep(&left, &left) < 0 && errno == EINTR)
		;
}
