/* request.c - FastCGI params and body in. */
#include "request.h"

#include "router.h"

#include <stdlib.h>
#include <string.h>

#include "id.h"

void request_init(struct request *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->body);
}

void request_cleanup(struct request *r)
{
	if (!r)
		return;
	buf_cleanup(&r->body);
}

static const char *param(FCGX_Request *fr, const char *name)
{
	const char *v = FCGX_GetParam(name, fr->envp);

	return v ? v : "";
}

bool request_id_valid(const char *s)
{
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			     "0123456789._-");

	return n >= 1 && n <= REQUEST_ID_MAX && s[n] == '\0';
}

/* nginx passes the client's id or its own; anything else (another front
 * end, a request straight to the socket) gets one made here. */
static const char *request_id(struct request *r, FCGX_Request *fr)
{
	const char *given = param(fr, "REQUEST_ID");

	if (request_id_valid(given))
		return given;
	if (id_random(r->request_id_made, REQUEST_ID_MADE_LEN) < 0)
		return "-";
	return r->request_id_made;
}

int request_read(struct request *r, FCGX_Request *fr)
{
	const char *cl;
	long want = -1;
	size_t max;

	r->method = param(fr, "REQUEST_METHOD");
	r->path = param(fr, "DOCUMENT_URI");
	if (!*r->path)
		r->path = param(fr, "SCRIPT_NAME");
	r->query = param(fr, "QUERY_STRING");
	r->content_type = param(fr, "CONTENT_TYPE");
	r->x_api_key = FCGX_GetParam("HTTP_X_API_KEY", fr->envp);
	r->if_none_match = FCGX_GetParam("HTTP_IF_NONE_MATCH", fr->envp);
	r->idempotency_key = FCGX_GetParam("HTTP_IDEMPOTENCY_KEY", fr->envp);
	r->authorization = FCGX_GetParam("HTTP_AUTHORIZATION", fr->envp);
	r->request_id = request_id(r, fr);
	r->remote_addr = param(fr, "REMOTE_ADDR");
	r->param = "";
	r->body_too_large = false;
	buf_reset(&r->body);
	max = router_body_limit(r->method, r->path);

	cl = FCGX_GetParam("CONTENT_LENGTH", fr->envp);
	if (cl && *cl) {
		char *end;

		want = strtol(cl, &end, 10);
		if (*end || want < 0)
			want = -1;
		if (want > 0 && (size_t)want > max) {
			r->body_too_large = true;
			return 0;
		}
	}
	if (want == 0)
		return 0;

	/* Read until EOF (or one byte past the limit). */
	for (;;) {
		int n;

		buf_reserve(&r->body, r->body.len < 65536 ? 8192 : 262144);
		n = FCGX_GetStr(r->body.data + r->body.len,
				(int)(r->body.cap - r->body.len - 1), fr->in);
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		r->body.len += (size_t)n;
		r->body.data[r->body.len] = '\0';
		if (r->body.len > max) {
			r->body_too_large = true;
			break;
		}
	}
	return 0;
}
