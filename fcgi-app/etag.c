/* etag.c - entity tags (see etag.h). */
#include "etag.h"

#include <stdint.h>
#include <string.h>

void etag_of(const char *data, size_t len, char out[ETAG_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)data[i];
		h *= UINT64_C(0x100000001b3);
	}
	for (int i = ETAG_LEN - 1; i >= 0; i--) {
		out[i] = hex[h & 15];
		h >>= 4;
	}
	out[ETAG_LEN] = '\0';
}

static const char *skip_space(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == ',')
		p++;
	return p;
}

bool etag_matches(const char *h, const char *tag)
{
	size_t n = strlen(tag);

	if (!h || !*tag)
		return false;
	for (const char *p = skip_space(h); *p; p = skip_space(p)) {
		const char *end;

		if (*p == '*')
			return true;
		if (p[0] == 'W' && p[1] == '/')
			p += 2;
		if (*p != '"')
			return false; /* malformed: match nothing */
		end = strchr(p + 1, '"');
		if (!end)
			return false;
		if ((size_t)(end - p - 1) == n && memcmp(p + 1, tag, n) == 0)
			return true;
		p = end + 1;
	}
	return false;
}
