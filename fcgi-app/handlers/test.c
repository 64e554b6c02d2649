/* test.c - GET /test: is this key working, and whose is it? */
#include <string.h>

#include "codec.h"
#include "handlers.h"

void handle_test(struct app *app, const struct request *req,
		 const struct principal *who, struct response *res)
{
	struct buf *b = &res->body;

	buf_puts(b, "{\"message\":\"Your API key is working\",\"organization_id\":");
	json_put_nullable(b, who->key.org_id);
	buf_puts(b, ",\"organization_name\":");
	json_put_nullable(b, who->key.org_name);
	buf_puts(b, ",\"api_key_name\":");
	json_put_nullable(b, who->key.key_name);
	buf_putc(b, '}');
	response_json(res, 200);
}
