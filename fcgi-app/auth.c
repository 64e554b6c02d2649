/* auth.c - API keys: parse, look up by id (through the lease cache),
 * compare the hash in constant time.  The answer never says which check
 * failed. */
#include "auth.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"
#include "sha256.h"

/* Keys one worker remembers; a deployment with more keys in active use
 * than this still works, with more look-ups. */
#define AUTH_CACHE_SLOTS 32

struct lease {
	char key_id[ID_LEN + 1]; /* "" when the slot is free */
	uint64_t start_us;       /* before the look-up was sent */
	struct key_record key;
};

struct auth {
	uint64_t lease_us;
	struct lease slots[AUTH_CACHE_SLOTS];
};

uint64_t auth_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

struct auth *auth_new(int lease_ms)
{
	struct auth *a = xcalloc(1, sizeof(*a));

	a->lease_us = lease_ms > 0 ? (uint64_t)lease_ms * 1000u : 0;
	return a;
}

void auth_free(struct auth *a)
{
	free(a);
}

const char *auth_key_from_request(const struct request *req)
{
	const char *a = req->authorization;

	if (req->x_api_key && *req->x_api_key)
		return req->x_api_key;
	if (!a || strncasecmp(a, "Bearer", 6) != 0 || (a[6] != ' ' && a[6] != '\t'))
		return NULL;
	a += 6;
	while (*a == ' ' || *a == '\t')
		a++;
	return *a ? a : NULL;
}

static bool all_alnum(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]))
			return false;
	return true;
}

int auth_parse_key(const char *key, char *key_id)
{
	size_t plen = strlen(KEY_PREFIX);
	size_t len = strlen(key);

	if (len != plen + ID_LEN + 1 + KEY_SECRET_LEN ||
	    strncmp(key, KEY_PREFIX, plen) != 0 || key[plen + ID_LEN] != '_' ||
	    !all_alnum(key + plen, ID_LEN) ||
	    !all_alnum(key + plen + ID_LEN + 1, KEY_SECRET_LEN))
		return -1;
	memcpy(key_id, key + plen, ID_LEN);
	key_id[ID_LEN] = '\0';
	return 0;
}

static bool lease_live(const struct auth *a, const struct lease *l, uint64_t now)
{
	return l->key_id[0] && now - l->start_us < a->lease_us;
}

/* The live lease of key_id, or NULL. */
static const struct lease *lease_find(const struct auth *a, const char *key_id,
				      uint64_t now)
{
	for (size_t i = 0; i < AUTH_CACHE_SLOTS; i++) {
		const struct lease *l = &a->slots[i];

		if (lease_live(a, l, now) && strcmp(l->key_id, key_id) == 0)
			return l;
	}
	return NULL;
}

/* Where a new lease of key_id goes: its old slot, else a free or ended
 * one, else the oldest. */
static struct lease *lease_slot(struct auth *a, const char *key_id, uint64_t now)
{
	struct lease *oldest = &a->slots[0];

	for (size_t i = 0; i < AUTH_CACHE_SLOTS; i++) {
		struct lease *l = &a->slots[i];

		if (strcmp(l->key_id, key_id) == 0 || !lease_live(a, l, now))
			return l;
		if (l->start_us < oldest->start_us)
			oldest = l;
	}
	return oldest;
}

void auth_forget_org(struct auth *a, const char *org_id)
{
	for (size_t i = 0; i < AUTH_CACHE_SLOTS; i++)
		if (strcmp(a->slots[i].key.org_id, org_id) == 0)
			a->slots[i].key_id[0] = '\0';
}

enum auth_result auth_check(struct auth *a, struct store *s,
			    const struct request *req, struct principal *out)
{
	const char *key = auth_key_from_request(req);
	const struct lease *l;
	uint8_t hash[SHA256_LEN];
	uint64_t now;

	if (!key || auth_parse_key(key, out->key_id) < 0)
		return AUTH_DENIED;
	now = auth_now_us();
	l = a->lease_us ? lease_find(a, out->key_id, now) : NULL;
	if (l) {
		out->key = l->key;
	} else {
		switch (store_key_lookup(s, out->key_id, &out->key)) {
		case STORE_OK:
			break;
		case STORE_NOT_FOUND:
			return AUTH_DENIED;
		case STORE_UNAVAILABLE:
			return AUTH_UNAVAILABLE;
		default:
			return AUTH_ERROR;
		}
		if (a->lease_us) {
			struct lease *slot = lease_slot(a, out->key_id, now);

			memcpy(slot->key_id, out->key_id, sizeof(slot->key_id));
			slot->start_us = now; /* taken before the look-up */
			slot->key = out->key;
		}
	}
	sha256(key, strlen(key), hash);
	return ct_equal(hash, out->key.hash, SHA256_LEN) ? AUTH_OK : AUTH_DENIED;
}
