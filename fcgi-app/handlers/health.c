/* health.c - GET /healthz (no key) and GET /metrics (localhost only, by
 * nginx). */
#include "handlers.h"

void handle_healthz(struct app *app, const struct request *req,
		    const struct principal *who, struct response *res)
{
	bool pg = store_ping(app->store) == STORE_OK;
	bool redis = cache_configured(app->cache) && cache_ping(app->cache) == 0;

	buf_printf(&res->body, "{\"status\":\"%s\",\"postgres\":\"%s\",\"redis\":\"%s\"}",
		   pg ? "ok" : "unavailable", pg ? "up" : "down",
		   redis ? "up" : "down");
	if (!pg)
		response_header(res, "Retry-After", "1");
	response_json(res, pg ? 200 : 503);
}

void handle_metrics(struct app *app, const struct request *req,
		    const struct principal *who, struct response *res)
{
	/* Publish this worker's own counters first so the answer is current. */
	app_publish_metrics(app);
	metrics_render(app->metrics, app->cfg->host_name, &res->body);
	res->status = 200;
	res->content_type = "text/plain; version=0.0.4";
}
