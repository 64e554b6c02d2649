/* idempotency.h - Idempotency-Key on POST, PATCH and DELETE (API.md,
 * "Idempotent requests"; docs/idempotency.md).
 *
 * A request with a key runs in one transaction that starts with the
 * key's lock (sent with the handler's first statement, in its round trip)
 * and ends with its own answer stored, then the commit: the answer is kept
 * exactly when the write is.  Storing the answer is what finds a key that
 * has one already: then the transaction rolls back and the stored answer
 * is the answer.  Only after the commit is the cache told (the write
 * path's publication waits for it).
 *
 *   idem_begin()  before the handler: refuses a bad key (400), or opens
 *                 the transaction and lets the handler run
 *   idem_end()    after the handler: stores the answer and commits, or
 *                 rolls back and answers for the key: a replay (the stored
 *                 answer, Idempotent-Replayed: true), a mismatch (422), a
 *                 request still running with that key (409); after a 5xx,
 *                 rolls back; then publishes the write
 */
#ifndef CONTACTS_IDEMPOTENCY_H
#define CONTACTS_IDEMPOTENCY_H

#include <stdbool.h>

#include "app.h"
#include "auth.h"
#include "request.h"
#include "response.h"

enum idem_result {
	IDEM_RUN = 0,      /* the handler is to run, then idem_end() */
	IDEM_ANSWERED = 1, /* res holds the answer: a refusal of the key (400)
			    * or a failure (503, 500) */
};
enum idem_result idem_begin(struct app *app, const struct request *req,
			    const struct principal *who, struct response *res)
	__attribute__((warn_unused_result));
/* Cannot fail on the caller: what goes wrong replaces the answer in res
 * (500 or 503). */
void idem_end(struct app *app, const struct request *req,
	      const struct principal *who, struct response *res);

/* A key the contract accepts: 1-255 printable ASCII characters.  Pure. */
bool idem_key_valid(const char *key);

#endif
