/* request.h - one request as FastCGI hands it over: params and body. */
#ifndef CONTACTS_REQUEST_H
#define CONTACTS_REQUEST_H

#include <fcgiapp.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"

/* A request id is 1-200 characters of [A-Za-z0-9._-]: the client's own
 * X-Request-Id when it is one (nginx checks it), else one nginx made. */
#define REQUEST_ID_MAX 200
#define REQUEST_ID_MADE_LEN 32

struct request {
	/* Borrowed from the FastCGI request; "" when absent. */
	const char *method;
	const char *path;         /* DOCUMENT_URI: decoded, without the query */
	const char *query;        /* QUERY_STRING */
	const char *content_type;
	const char *x_api_key;    /* HTTP_X_API_KEY, NULL when absent */
	const char *authorization;/* HTTP_AUTHORIZATION, NULL when absent */
	const char *if_none_match;/* HTTP_IF_NONE_MATCH, NULL when absent */
	const char *idempotency_key; /* HTTP_IDEMPOTENCY_KEY, NULL when absent */
	const char *request_id;   /* REQUEST_ID from nginx when it is a valid
				   * id, else made here (request_id_made) */
	const char *remote_addr;
	const char *param;        /* the route's path parameter (router.h), "" if none */
	struct buf body;          /* owned; reused across requests */
	bool body_too_large;      /* more than the route takes (router_body_limit) */
	char request_id_made[REQUEST_ID_MADE_LEN + 1];
};

void request_init(struct request *r);
void request_cleanup(struct request *r);
/* Reads the params and the body (up to router_body_limit() + 1 bytes).
 * Returns 0, or -1 when the body could not be read. */
int request_read(struct request *r, FCGX_Request *fr)
	__attribute__((warn_unused_result));

/* True when s is a request id as the contract has them. */
bool request_id_valid(const char *s);

#endif
