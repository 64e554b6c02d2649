/* hostport.h - "host:port" addresses and lists of them (the settings redis
 * and redis_sentinels).  Pure: no I/O. */
#ifndef CONTACTS_HOSTPORT_H
#define CONTACTS_HOSTPORT_H

#include <stddef.h>

#define HOSTPORT_HOST_MAX 256
/* Sentinels a pool may name: Redis's own advice is three or five. */
#define HOSTPORT_LIST_MAX 8

struct hostport {
	char host[HOSTPORT_HOST_MAX];
	int port; /* 1..65535 */
};

/* Parses the len bytes at s as host:port (the last colon splits, so a
 * bracketless IPv6 address is refused by its other colons not being a
 * port).  0, or -1 when it is not one. */
int hostport_parse(const char *s, size_t len, struct hostport *out);

/* Parses a list separated by spaces or commas into out (at most max).
 * The number parsed (at least one), or -1: an entry that is not
 * host:port, more than max, or none. */
int hostport_list(const char *s, struct hostport *out, int max);

#endif
