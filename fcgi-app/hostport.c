/* hostport.c - "host:port" addresses and lists of them. */
#include "hostport.h"

#include <string.h>

int hostport_parse(const char *s, size_t len, struct hostport *out)
{
	const char *colon = NULL;
	long port = 0;
	size_t hlen;

	for (size_t i = 0; i < len; i++)
		if (s[i] == ':')
			colon = s + i;
	if (!colon || colon == s)
		return -1;
	hlen = (size_t)(colon - s);
	if (hlen >= sizeof(out->host) || memchr(s, ':', hlen) || memchr(s, '\0', hlen))
		return -1;
	if (colon + 1 == s + len)
		return -1;
	for (const char *p = colon + 1; p < s + len; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		port = port * 10 + (*p - '0');
		if (port > 65535)
			return -1;
	}
	if (port < 1)
		return -1;
	memcpy(out->host, s, hlen);
	out->host[hlen] = '\0';
	out->port = (int)port;
	return 0;
}

int hostport_list(const char *s, struct hostport *out, int max)
{
	int n = 0;

	for (;;) {
		size_t len;

		s += strspn(s, " ,\t");
		if (!*s)
			break;
		len = strcspn(s, " ,\t");
		if (n == max || hostport_parse(s, len, &out[n]) < 0)
			return -1;
		n++;
		s += len;
	}
	return n > 0 ? n : -1;
}
