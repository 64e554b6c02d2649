/* auth.c - API keys: parse, look up by id, compare the hash in constant
 * time.  The answer never says which check failed. */
#include "auth.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "sha256.h"

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

enum auth_result auth_check(struct store *s, const struct request *req,
			    struct principal *out)
{
	const char *key = auth_key_from_request(req);
	uint8_t hash[SHA256_LEN];

	if (!key || auth_parse_key(key, out->key_id) < 0)
		return AUTH_DENIED;
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
	sha256(key, strlen(key), hash);
	return ct_equal(hash, out->key.hash, SHA256_LEN) ? AUTH_OK : AUTH_DENIED;
}
