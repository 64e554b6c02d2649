/* response.h - status, headers and a JSON body out; errors become answers
 * here and only here. */
#ifndef CONTACTS_RESPONSE_H
#define CONTACTS_RESPONSE_H

#include <fcgiapp.h>
#include <stdbool.h>

#include "buf.h"
#include "errors.h"
#include "etag.h"

/* The largest answer written as records (a page of 1000 contacts is about
 * 300 KB); a larger one goes through libfcgi's stream. */
#define REQUEST_ANSWER_MAX (4 * 1024 * 1024)

struct response {
	int status;
	const char *content_type; /* static string; application/json unless set; NULL: none */
	const char *error_code; /* static string: the error answered, or NULL */
	bool head_only;     /* HEAD: the GET's head (Content-Length too), no body */
	char etag[ETAG_LEN + 1]; /* the body's tag, or "": see response_conditional() */
	struct buf headers; /* "Name: value\r\n" lines */
	struct buf body;
};

void response_init(struct response *r);
void response_cleanup(struct response *r);
/* Ready for the next request, keeping the buffers. */
void response_reset(struct response *r);

void response_header(struct response *r, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The body (already in r->body) is JSON, with this status. */
void response_json(struct response *r, int status);
/* No body at all (204). */
void response_empty(struct response *r, int status);
/* The body (already in r->body) is JSON describing what was created:
 * 201, with Location: <collection>/<id> (collection "/contacts", id
 * percent-encoded where it is not an unreserved URI character). */
void response_created(struct response *r, const char *collection,
		      const char *id);

/* Replaces the body with the error's JSON and sets its status and the
 * headers that go with it (WWW-Authenticate, Retry-After). */
void response_error(struct response *r, const struct apierr *e);
/* Shorthand for response_error() with a fresh struct apierr. */
void response_fail(struct response *r, enum api_error kind, const char *field,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* For a GET (or HEAD) answered 200: tags the body (unless the handler
 * did, from a cache entry) and, when the client's If-None-Match names
 * the tag, turns the answer into 304 Not Modified without a body. */
void response_conditional(struct response *r, const char *if_none_match);

/* Serializes the whole answer (CGI-style status line, headers, body). */
void response_serialize(const struct response *r, struct buf *out);
/* Answers the request in hand; scratch is reused for the head.  Answers
 * over 8 KB are written as 64 KiB FastCGI records, straight to the
 * connection.  With head_only, only the head goes out. */
int response_send(const struct response *r, struct buf *scratch,
		  FCGX_Request *fr) __attribute__((warn_unused_result));

#endif
