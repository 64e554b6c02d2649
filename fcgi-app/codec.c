/* codec.c - JSON in (Jansson) and out (a small writer).
 *
 * Output is written straight into a buffer instead of through a Jansson
 * tree: a 1000-contact page is 12,000 values, and building and freeing a
 * tree for each page costs more than the rest of the request.  Everything we
 * write is either a number or a string that is valid UTF-8 (PostgreSQL
 * stores UTF-8; request text is checked), so escaping is all there is to it.
 */
#include "codec.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "timefmt.h"
#include "validate.h"

static const char hex[] = "0123456789abcdef";

void json_put_string(struct buf *out, const char *s, size_t len)
{
	size_t start = 0;

	buf_reserve(out, len + 2);
	buf_putc(out, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		char esc[6];
		size_t n = 2;

		if (ch >= 0x20 && ch != '"' && ch != '\\')
			continue;
		buf_append(out, s + start, i - start);
		start = i + 1;
		esc[0] = '\\';
		switch (ch) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		default:
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[ch >> 4];
			esc[5] = hex[ch & 15];
			n = 6;
		}
		buf_append(out, esc, n);
	}
	buf_append(out, s + start, len - start);
	buf_putc(out, '"');
}

void json_put_nullable(struct buf *out, const char *s)
{
	if (s)
		json_put_string(out, s, strlen(s));
	else
		buf_append(out, "null", 4);
}

static void put_time(struct buf *out, int64_t ms)
{
	char t[TIMEFMT_LEN + 1];

	if (timefmt_iso_ms(ms, t) < 0) {
		buf_append(out, "null", 4);
		return;
	}
	buf_putc(out, '"');
	buf_append(out, t, TIMEFMT_LEN);
	buf_putc(out, '"');
}

static void put_optional_time(struct buf *out, bool present, int64_t ms)
{
	if (present)
		put_time(out, ms);
	else
		buf_append(out, "null", 4);
}

static void put_key(struct buf *out, const char *key, bool first)
{
	if (!first)
		buf_putc(out, ',');
	buf_putc(out, '"');
	buf_puts(out, key);
	buf_append(out, "\":", 2);
}

void codec_contact(struct buf *out, const struct contact *c)
{
	buf_putc(out, '{');
	put_key(out, "id", true);
	json_put_nullable(out, c->id);
	put_key(out, "email", false);
	json_put_nullable(out, c->email);
	put_key(out, "eid", false);
	json_put_nullable(out, c->eid);
	put_key(out, "name", false);
	json_put_nullable(out, c->name);
	put_key(out, "phone", false);
	json_put_nullable(out, c->phone);
	put_key(out, "company", false);
	json_put_nullable(out, c->company);
	put_key(out, "type", false);
	json_put_nullable(out, c->type);
	put_key(out, "status", false);
	json_put_nullable(out, c->status);
	put_key(out, "created_at", false);
	put_time(out, c->created_at);
	put_key(out, "updated_at", false);
	put_time(out, c->updated_at);
	put_key(out, "deleted_at", false);
	put_optional_time(out, c->has_deleted_at, c->deleted_at);
	put_key(out, "last_action", false);
	json_put_nullable(out, c->last_action);
	buf_putc(out, '}');
}

void codec_list(struct buf *out, const struct list *l)
{
	buf_putc(out, '{');
	put_key(out, "id", true);
	json_put_nullable(out, l->id);
	put_key(out, "name", false);
	json_put_nullable(out, l->name);
	put_key(out, "type", false);
	json_put_nullable(out, l->type);
	put_key(out, "count", false);
	buf_printf(out, "%lld", (long long)l->count);
	put_key(out, "source", false);
	buf_append(out, "\"list\"", 6);
	put_key(out, "created_at", false);
	put_time(out, l->created_at);
	put_key(out, "updated_at", false);
	put_time(out, l->updated_at);
	put_key(out, "deleted_at", false);
	put_optional_time(out, l->has_deleted_at, l->deleted_at);
	buf_putc(out, '}');
}

void codec_error(struct buf *out, const struct apierr *e)
{
	const char *code = api_error_code(e->kind);

	buf_append(out, "{\"error\":{", 10);
	put_key(out, "code", true);
	json_put_string(out, code, strlen(code));
	put_key(out, "message", false);
	/* Messages may quote request text: make sure they stay valid UTF-8. */
	if (utf8_valid(e->message, strlen(e->message)))
		json_put_string(out, e->message, strlen(e->message));
	else
		json_put_string(out, "invalid request", 15);
	if (e->field[0]) {
		put_key(out, "field", false);
		if (utf8_valid(e->field, strlen(e->field)))
			json_put_string(out, e->field, strlen(e->field));
		else
			buf_append(out, "null", 4);
	}
	buf_append(out, "}}", 2);
}

int json_check_depth(const char *s, size_t len, int max_depth)
{
	int depth = 0;
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		char ch = s[i];

		if (in_string) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				in_string = false;
			continue;
		}
		switch (ch) {
		case '"':
			in_string = true;
			break;
		case '[':
		case '{':
			if (++depth > max_depth)
				return -1;
			break;
		case ']':
		case '}':
			if (depth > 0) /* an unmatched closer is the parser's to refuse */
				depth--;
			break;
		default:
			break;
		}
	}
	return 0;
}

/* Parses the body into a JSON object (new reference in *root) after the
 * checks every body gets. */
static int parse_object(const char *body, size_t len, json_t **root,
			struct apierr *err)
{
	json_error_t jerr;
	json_t *doc;

	*root = NULL;
	if (len == 0)
		return apierr_set(err, API_INVALID_JSON, NULL, "request body is empty");
	if (len > CODEC_MAX_BODY)
		return apierr_set(err, API_PAYLOAD_TOO_LARGE, NULL,
				  "request body is larger than 64 KiB");
	if (!utf8_valid(body, len))
		return apierr_set(err, API_INVALID_JSON, NULL,
				  "request body is not valid UTF-8");
	if (json_check_depth(body, len, CODEC_MAX_DEPTH) < 0)
		return apierr_set(err, API_INVALID_JSON, NULL,
				  "request body is nested deeper than %d levels",
				  CODEC_MAX_DEPTH);
	doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc)
		return apierr_set(err, API_INVALID_JSON, NULL,
				  "request body is not valid JSON: %s (at character %d)",
				  jerr.text, jerr.position);
	if (!json_is_object(doc)) {
		json_decref(doc);
		return apierr_set(err, API_INVALID_JSON, NULL,
				  "request body must be a JSON object");
	}
	*root = doc;
	return 0;
}

/* A string of at most max characters, or null.  Borrowed into *out. */
static int get_text(json_t *v, const char *field, size_t max, bool nullable,
		    const char **out, struct apierr *err)
{
	const char *s;
	size_t len;

	if (json_is_null(v) && nullable) {
		*out = NULL;
		return 0;
	}
	if (!json_is_string(v))
		return apierr_set(err, API_INVALID_FIELD, field,
				  "%s must be a string%s", field,
				  nullable ? " or null" : "");
	s = json_string_value(v);
	len = json_string_length(v);
	if (utf8_length(s, len) > max)
		return apierr_set(err, API_INVALID_FIELD, field,
				  "%s must be at most %zu characters", field, max);
	*out = s;
	return 0;
}

static int get_type(json_t *v, const char **out, struct apierr *err)
{
	const char *s = json_string_value(v);

	if (!s || (strcmp(s, "customer") != 0 && strcmp(s, "employee") != 0))
		return apierr_set(err, API_INVALID_FIELD, "type",
				  "type must be \"customer\" or \"employee\"");
	*out = s;
	return 0;
}

static const struct {
	const char *name;
	unsigned bit;
	size_t max;
} contact_text_fields[] = {
	{"eid", FIELD_EID, 255},
	{"name", FIELD_NAME, 255},
	{"phone", FIELD_PHONE, 64},
	{"company", FIELD_COMPANY, 255},
};

static int check_known_keys(json_t *root, const char *const *known,
			    struct apierr *err)
{
	const char *key;
	json_t *v;

	json_object_foreach(root, key, v) {
		bool ok = false;

		for (size_t i = 0; known[i]; i++)
			if (strcmp(key, known[i]) == 0)
				ok = true;
		if (!ok)
			return apierr_set(err, API_UNKNOWN_FIELD, key,
					  "unknown field \"%.64s\"", key);
	}
	return 0;
}

static int parse_contact_fields(json_t *root, struct contact_input *in,
				struct apierr *err)
{
	static const char *const known[] = {"email", "eid", "name", "phone",
					    "company", "type", "addToLists", NULL};
	const char **targets[] = {&in->eid, &in->name, &in->phone, &in->company};
	json_t *v, *item;
	const char *email;
	size_t email_len, i;

	if (check_known_keys(root, known, err) < 0)
		return -1;

	v = json_object_get(root, "email");
	if (!v)
		return apierr_set(err, API_MISSING_FIELD, "email", "email is required");
	if (!json_is_string(v))
		return apierr_set(err, API_INVALID_FIELD, "email", "email must be a string");
	email = str_trim(json_string_value(v), json_string_length(v), &email_len);
	if (!email_valid(email, email_len))
		return apierr_set(err, API_INVALID_FIELD, "email",
				  "email is not a valid address");
	in->email_copy = xmalloc(email_len + 1);
	memcpy(in->email_copy, email, email_len);
	in->email_copy[email_len] = '\0';
	in->email = in->email_copy;
	in->email_key = xmalloc(email_len + 1);
	email_fold(email, email_len, in->email_key);

	for (i = 0; i < sizeof(contact_text_fields) / sizeof(contact_text_fields[0]); i++) {
		v = json_object_get(root, contact_text_fields[i].name);
		if (!v)
			continue;
		if (get_text(v, contact_text_fields[i].name, contact_text_fields[i].max,
			     true, targets[i], err) < 0)
			return -1;
		in->fields |= contact_text_fields[i].bit;
	}

	v = json_object_get(root, "type");
	if (v) {
		if (get_type(v, &in->type, err) < 0)
			return -1;
		in->fields |= FIELD_TYPE;
	}

	v = json_object_get(root, "addToLists");
	if (v) {
		if (!json_is_array(v))
			return apierr_set(err, API_INVALID_FIELD, "addToLists",
					  "addToLists must be an array of list ids");
		if (json_array_size(v) > CONTACT_MAX_LISTS)
			return apierr_set(err, API_INVALID_FIELD, "addToLists",
					  "addToLists holds at most %d list ids",
					  CONTACT_MAX_LISTS);
		json_array_foreach(v, i, item) {
			if (!json_is_string(item))
				return apierr_set(err, API_INVALID_FIELD, "addToLists",
						  "addToLists must hold only strings");
			in->lists[in->nlists++] = json_string_value(item);
		}
	}
	return 0;
}

int codec_parse_contact(const char *body, size_t len, struct contact_input *in,
			struct apierr *err)
{
	json_t *root;

	memset(in, 0, sizeof(*in));
	if (parse_object(body, len, &root, err) < 0)
		return -1;
	in->owner = root;
	if (parse_contact_fields(root, in, err) < 0) {
		contact_input_cleanup(in);
		return -1;
	}
	return 0;
}

void contact_input_cleanup(struct contact_input *in)
{
	if (!in)
		return;
	json_decref((json_t *)in->owner);
	free(in->email_copy);
	free(in->email_key);
	memset(in, 0, sizeof(*in));
}

int codec_parse_list(const char *body, size_t len, struct list_input *in,
		     struct apierr *err)
{
	static const char *const known[] = {"name", "type", NULL};
	json_t *root, *v;

	memset(in, 0, sizeof(*in));
	if (parse_object(body, len, &root, err) < 0)
		return -1;
	in->owner = root;
	in->type = "customer";
	if (check_known_keys(root, known, err) < 0)
		goto fail;
	v = json_object_get(root, "name");
	if (!v) {
		apierr_set(err, API_MISSING_FIELD, "name", "name is required");
		goto fail;
	}
	if (get_text(v, "name", 255, false, &in->name, err) < 0)
		goto fail;
	v = json_object_get(root, "type");
	if (v && get_type(v, &in->type, err) < 0)
		goto fail;
	return 0;
fail:
	list_input_cleanup(in);
	return -1;
}

void list_input_cleanup(struct list_input *in)
{
	if (!in)
		return;
	json_decref((json_t *)in->owner);
	memset(in, 0, sizeof(*in));
}
