/* auth.h - API key to organization. */
#ifndef CONTACTS_AUTH_H
#define CONTACTS_AUTH_H

#include <stddef.h>

#include "id.h"
#include "request.h"
#include "store.h"

#define KEY_PREFIX "ck_"
#define KEY_SECRET_LEN 43

/* Who is asking: the key's organization, as the store knows it. */
struct principal {
	char key_id[ID_LEN + 1];
	struct key_record key;
};

enum auth_result {
	AUTH_OK = 0,
	AUTH_DENIED = 1,       /* 401: missing, unknown, revoked or wrong */
	AUTH_UNAVAILABLE = -1, /* 503: the store cannot be reached */
	AUTH_ERROR = -2,       /* 500 */
};

/* The key sent as X-API-Key or Authorization: Bearer; NULL when neither. */
const char *auth_key_from_request(const struct request *req);

/* Splits "ck_<id>_<secret>" and checks its shape; the id goes to key_id
 * (ID_LEN + 1 bytes).  Returns 0 or -1. */
int auth_parse_key(const char *key, char *key_id);

/* Looks the key up and compares its hash in constant time. */
enum auth_result auth_check(struct store *s, const struct request *req,
			    struct principal *out);

#endif
