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

void codec_time(struct buf *out, int64_t ms)
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
		codec_time(out, ms);
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
	codec_time(out, c->created_at);
	put_key(out, "updated_at", false);
	codec_time(out, c->updated_at);
	put_key(out, "deleted_at", false);
	put_optional_time(out, c->has_deleted_at, c->deleted_at);
	put_key(out, "last_action", false);
	json_put_nullable(out, c->last_action);
	/* PostgreSQL's own text of a jsonb object: valid JSON as it is. */
	put_key(out, "fields", false);
	if (c->fields && c->fields_len)
		buf_append(out, c->fields, c->fields_len);
	else
		buf_append(out, "{}", 2);
	buf_putc(out, '}');
}

void codec_field(struct buf *out, const struct field_def *f)
{
	buf_putc(out, '{');
	put_key(out, "name", true);
	json_put_nullable(out, f->name);
	put_key(out, "type", false);
	json_put_nullable(out, f->type);
	put_key(out, "created_at", false);
	codec_time(out, f->created_at);
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
	codec_time(out, l->created_at);
	put_key(out, "updated_at", false);
	codec_time(out, l->updated_at);
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
static int parse_object_max(const char *body, size_t len, size_t max,
			    json_t **root, struct apierr *err);

static int parse_object(const char *body, size_t len, json_t **root,
			struct apierr *err)
{
	return parse_object_max(body, len, CODEC_MAX_BODY, root, err);
}

static int parse_object_max(const char *body, size_t len, size_t max,
			    json_t **root, struct apierr *err)
{
	json_error_t jerr;
	json_t *doc;

	*root = NULL;
	if (len == 0)
		return apierr_set(err, API_INVALID_JSON, NULL, "request body is empty");
	if (len > max)
		return apierr_set(err, API_PAYLOAD_TOO_LARGE, NULL,
				  "request body is larger than %zu KiB", max / 1024);
	if (!utf8_valid(body, len))
		return apierr_set(err, API_INVALID_JSON, NULL,
				  "request body is not valid UTF-8");
	if (json_check_depth(body, len, CODEC_MAX_DEPTH) < 0)
		return apierr_set(err, API_INVALID_JSON, NULL,
				  "request body is nested deeper than %d levels",
				  CODEC_MAX_DEPTH);
	/* \u0000 is accepted by the parser and refused, with the field's
	 * name, where a value is read (get_text and the like). */
	doc = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
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

/* A string of at most max characters, or null.  Borrowed into *out.
 * PostgreSQL text holds no NUL, so a value with one is refused here. */
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
	if (memchr(s, '\0', len))
		return apierr_set(err, API_INVALID_FIELD, field,
				  "%s must not contain NUL characters", field);
	if (utf8_length(s, len) > max)
		return apierr_set(err, API_INVALID_FIELD, field,
				  "%s must be at most %zu characters", field, max);
	*out = s;
	return 0;
}

static bool is_one_of(json_t *v, const char *const *allowed)
{
	const char *s = json_string_value(v);

	if (!s || strlen(s) != json_string_length(v))
		return false;
	for (size_t i = 0; allowed[i]; i++)
		if (strcmp(s, allowed[i]) == 0)
			return true;
	return false;
}

static int get_type(json_t *v, const char **out, struct apierr *err)
{
	static const char *const types[] = {"customer", "employee", NULL};

	if (!is_one_of(v, types))
		return apierr_set(err, API_INVALID_FIELD, "type",
				  "type must be \"customer\" or \"employee\"");
	*out = json_string_value(v);
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

#define CUSTOM_PREFIX "field_"
#define CUSTOM_PREFIX_LEN (sizeof(CUSTOM_PREFIX) - 1)

static bool known_key(const char *key, const char *const *known, bool custom)
{
	if (custom && strncmp(key, CUSTOM_PREFIX, CUSTOM_PREFIX_LEN) == 0)
		return true;
	for (size_t i = 0; known[i]; i++)
		if (strcmp(key, known[i]) == 0)
			return true;
	return false;
}

static int check_known_keys(json_t *root, const char *const *known, bool custom,
			    struct apierr *err)
{
	const char *key;
	json_t *v;

	json_object_foreach(root, key, v) {
		if (!known_key(key, known, custom))
			return apierr_set(err, API_UNKNOWN_FIELD, key,
					  "unknown field \"%.64s\"", key);
	}
	return 0;
}

bool codec_field_name_valid(const char *s, size_t len)
{
	if (len == 0 || len > FIELD_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_'))
			return false;
	}
	return true;
}

/* An array of list ids (strings) into ids; at most CONTACT_MAX_LISTS. */
static int get_list_ids(json_t *v, const char *field, const char **ids,
			size_t *n, struct apierr *err)
{
	size_t i;
	json_t *item;

	if (!json_is_array(v))
		return apierr_set(err, API_INVALID_FIELD, field,
				  "%s must be an array of list ids", field);
	if (json_array_size(v) > CONTACT_MAX_LISTS)
		return apierr_set(err, API_INVALID_FIELD, field,
				  "%s holds at most %d list ids", field,
				  CONTACT_MAX_LISTS);
	json_array_foreach(v, i, item) {
		if (!json_is_string(item) ||
		    strlen(json_string_value(item)) != json_string_length(item))
			return apierr_set(err, API_INVALID_FIELD, field,
					  "%s must hold only strings", field);
		ids[(*n)++] = json_string_value(item);
	}
	return 0;
}

/* One custom field value, as the body spelled it, into values/spelling. */
static int put_custom(json_t *values, json_t *spelling, const char *name,
		      const char *spelled, json_t *v, struct apierr *err)
{
	if (!codec_field_name_valid(name, strlen(name)))
		return apierr_set(err, API_UNKNOWN_FIELD, spelled,
				  "unknown custom field \"%.64s\"", spelled);
	if (json_object_get(values, name))
		return apierr_set(err, API_INVALID_FIELD, spelled,
				  "custom field %s is given twice", name);
	if (json_is_object(v) || json_is_array(v))
		return apierr_set(err, API_INVALID_FIELD, spelled,
				  "%.64s must be a string, a number, a boolean or null",
				  spelled);
	if (json_is_string(v) &&
	    strlen(json_string_value(v)) != json_string_length(v))
		return apierr_set(err, API_INVALID_FIELD, spelled,
				  "%.64s must not contain NUL characters", spelled);
	json_object_set(values, name, v);
	json_object_set_new(spelling, name, json_string(spelled));
	return 0;
}

/* Custom field values: top-level field_<name> keys and the "fields"
 * object.  in->custom and in->spelling are set when there is any. */
static int parse_custom(json_t *root, struct contact_input *in,
			struct apierr *err)
{
	json_t *values = json_object(), *spelling = json_object(), *v, *obj;
	const char *key;
	char spelled[APIERR_FIELD_LEN];
	int rc = -1;

	if (!values || !spelling)
		xoom();
	json_object_foreach(root, key, v) {
		if (strncmp(key, CUSTOM_PREFIX, CUSTOM_PREFIX_LEN) != 0)
			continue;
		if (put_custom(values, spelling, key + CUSTOM_PREFIX_LEN, key, v, err) < 0)
			goto out;
	}
	obj = json_object_get(root, "fields");
	if (obj) {
		if (!json_is_object(obj)) {
			apierr_set(err, API_INVALID_FIELD, "fields",
				   "fields must be an object of custom field values");
			goto out;
		}
		json_object_foreach(obj, key, v) {
			snprintf(spelled, sizeof(spelled), "fields.%s", key);
			if (put_custom(values, spelling, key, spelled, v, err) < 0)
				goto out;
		}
	}
	if (json_object_size(values) > 0) {
		in->custom = json_dumps(values, JSON_COMPACT);
		if (!in->custom)
			xoom();
		in->spelling = spelling;
		spelling = NULL;
	}
	rc = 0;
out:
	json_decref(values);
	json_decref(spelling);
	return rc;
}

const char *codec_custom_spelling(const struct contact_input *in,
				  const char *name)
{
	json_t *v = in->spelling ? json_object_get((json_t *)in->spelling, name) : NULL;

	return v ? json_string_value(v) : name;
}

static int get_email(json_t *v, struct contact_input *in, struct apierr *err)
{
	const char *email;
	size_t email_len;

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
	return 0;
}

static int parse_contact_fields(json_t *root, enum contact_mode mode,
				struct contact_input *in, struct apierr *err)
{
	static const char *const upsert_keys[] = {
		"email", "eid", "name", "phone", "company", "type", "addToLists",
		"removeFromLists", "fields", NULL};
	static const char *const patch_keys[] = {
		"email", "eid", "name", "phone", "company", "type", "status",
		"addToLists", "removeFromLists", "fields", NULL};
	static const char *const email_keys[] = {"email", NULL};
	static const char *const statuses[] = {"active", "unsubscribed", "error", NULL};
	const char **targets[] = {&in->eid, &in->name, &in->phone, &in->company};
	const char *const *known = mode == CONTACT_UPSERT ? upsert_keys
				   : mode == CONTACT_PATCH ? patch_keys
							   : email_keys;
	json_t *v;
	size_t i;

	if (check_known_keys(root, known, mode != CONTACT_EMAIL_ONLY, err) < 0)
		return -1;

	v = json_object_get(root, "email");
	if (!v && mode != CONTACT_PATCH)
		return apierr_set(err, API_MISSING_FIELD, "email", "email is required");
	if (v) {
		if (get_email(v, in, err) < 0)
			return -1;
		in->fields |= FIELD_EMAIL;
	}
	if (mode == CONTACT_EMAIL_ONLY)
		return 0;

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

	v = json_object_get(root, "status");
	if (v) {
		if (!is_one_of(v, statuses))
			return apierr_set(err, API_INVALID_FIELD, "status",
					  "status must be \"active\", \"unsubscribed\" or \"error\" (deleting is DELETE)");
		in->status = json_string_value(v);
		in->fields |= FIELD_STATUS;
	}

	v = json_object_get(root, "addToLists");
	if (v && get_list_ids(v, "addToLists", in->lists, &in->nlists, err) < 0)
		return -1;
	v = json_object_get(root, "removeFromLists");
	if (v && get_list_ids(v, "removeFromLists", in->remove, &in->nremove, err) < 0)
		return -1;
	for (i = 0; i < in->nremove; i++)
		for (size_t j = 0; j < in->nlists; j++)
			if (strcmp(in->remove[i], in->lists[j]) == 0)
				return apierr_set(err, API_INVALID_FIELD, "removeFromLists",
						  "a list cannot be in both addToLists and removeFromLists");
	return parse_custom(root, in, err);
}

int codec_contact_from_json(void *obj, enum contact_mode mode,
			    struct contact_input *in, struct apierr *err)
{
	json_t *root = obj;

	memset(in, 0, sizeof(*in));
	if (!json_is_object(root))
		return apierr_set(err, API_INVALID_JSON, NULL, "a contact must be a JSON object");
	json_incref(root);
	in->owner = root;
	if (parse_contact_fields(root, mode, in, err) < 0) {
		contact_input_cleanup(in);
		return -1;
	}
	return 0;
}

int codec_parse_contact(const char *body, size_t len, enum contact_mode mode,
			struct contact_input *in, struct apierr *err)
{
	json_t *root;
	int rc;

	memset(in, 0, sizeof(*in));
	if (parse_object(body, len, &root, err) < 0)
		return -1;
	rc = codec_contact_from_json(root, mode, in, err);
	json_decref(root);
	return rc;
}

void contact_input_cleanup(struct contact_input *in)
{
	if (!in)
		return;
	json_decref((json_t *)in->owner);
	json_decref((json_t *)in->spelling);
	free(in->custom);
	free(in->email_copy);
	free(in->email_key);
	memset(in, 0, sizeof(*in));
}

int codec_parse_list(const char *body, size_t len, bool patch,
		     struct list_input *in, struct apierr *err)
{
	static const char *const known[] = {"name", "type", NULL};
	json_t *root, *v;

	memset(in, 0, sizeof(*in));
	if (parse_object(body, len, &root, err) < 0)
		return -1;
	in->owner = root;
	in->type = patch ? NULL : "customer";
	if (check_known_keys(root, known, false, err) < 0)
		goto fail;
	v = json_object_get(root, "name");
	if (!v && !patch) {
		apierr_set(err, API_MISSING_FIELD, "name", "name is required");
		goto fail;
	}
	if (v && get_text(v, "name", 255, false, &in->name, err) < 0)
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

int codec_parse_field(const char *body, size_t len, struct field_input *in,
		      struct apierr *err)
{
	static const char *const known[] = {"name", "type", NULL};
	static const char *const types[] = {"string", "number", "boolean", "date", NULL};
	json_t *root, *v;

	memset(in, 0, sizeof(*in));
	if (parse_object(body, len, &root, err) < 0)
		return -1;
	in->owner = root;
	if (check_known_keys(root, known, false, err) < 0)
		goto fail;
	v = json_object_get(root, "name");
	if (!v) {
		apierr_set(err, API_MISSING_FIELD, "name", "name is required");
		goto fail;
	}
	if (!json_is_string(v) ||
	    !codec_field_name_valid(json_string_value(v), json_string_length(v))) {
		apierr_set(err, API_INVALID_FIELD, "name",
			   "name must be 1 to %d characters of a-z, 0-9 and _",
			   FIELD_NAME_MAX);
		goto fail;
	}
	in->name = json_string_value(v);
	v = json_object_get(root, "type");
	if (!v) {
		apierr_set(err, API_MISSING_FIELD, "type", "type is required");
		goto fail;
	}
	if (!is_one_of(v, types)) {
		apierr_set(err, API_INVALID_FIELD, "type",
			   "type must be \"string\", \"number\", \"boolean\" or \"date\"");
		goto fail;
	}
	in->type = json_string_value(v);
	return 0;
fail:
	field_input_cleanup(in);
	return -1;
}

void field_input_cleanup(struct field_input *in)
{
	if (!in)
		return;
	json_decref((json_t *)in->owner);
	memset(in, 0, sizeof(*in));
}

int codec_parse_bulk(const char *body, size_t len, struct bulk_input *b,
		     struct apierr *err)
{
	static const char *const known[] = {"contacts", NULL};
	json_t *root, *rows, *row;
	size_t i;

	memset(b, 0, sizeof(*b));
	if (parse_object_max(body, len, CODEC_MAX_BULK_BODY, &root, err) < 0)
		return -1;
	if (check_known_keys(root, known, false, err) < 0)
		goto fail;
	rows = json_object_get(root, "contacts");
	if (!rows) {
		apierr_set(err, API_MISSING_FIELD, "contacts", "contacts is required");
		goto fail;
	}
	if (!json_is_array(rows) || json_array_size(rows) == 0 ||
	    json_array_size(rows) > BULK_MAX_ROWS) {
		apierr_set(err, API_INVALID_FIELD, "contacts",
			   "contacts must be an array of 1 to %d contacts", BULK_MAX_ROWS);
		goto fail;
	}
	b->n = json_array_size(rows);
	b->rows = xcalloc(b->n, sizeof(*b->rows));
	json_array_foreach(rows, i, row) {
		struct bulk_row *r = &b->rows[i];

		if (!json_is_object(row)) {
			apierr_set(&r->err, API_INVALID_FIELD, NULL,
				   "each row must be a JSON object, a POST /contacts body");
			continue;
		}
		r->ok = codec_contact_from_json(row, CONTACT_UPSERT, &r->in, &r->err) == 0;
	}
	json_decref(root);
	return 0;
fail:
	json_decref(root);
	return -1;
}

void bulk_input_cleanup(struct bulk_input *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++)
		if (b->rows[i].ok)
			contact_input_cleanup(&b->rows[i].in);
	free(b->rows);
	memset(b, 0, sizeof(*b));
}

static void put_ids(struct buf *out, const char *const *ids, size_t n)
{
	buf_putc(out, '[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_putc(out, ',');
		json_put_string(out, ids[i], strlen(ids[i]));
	}
	buf_putc(out, ']');
}

void codec_bulk_rows(struct buf *out, const struct bulk_input *b)
{
	bool first = true;

	buf_putc(out, '[');
	for (size_t i = 0; i < b->n; i++) {
		const struct bulk_row *r = &b->rows[i];
		const struct contact_input *in = &r->in;

		if (!r->ok)
			continue;
		if (!first)
			buf_putc(out, ',');
		first = false;
		buf_putc(out, '{');
		put_key(out, "id", true);
		json_put_nullable(out, r->id);
		put_key(out, "email", false);
		json_put_nullable(out, in->email);
		put_key(out, "key", false);
		json_put_nullable(out, in->email_key);
		put_key(out, "f", false);
		buf_printf(out, "%u", in->fields);
		put_key(out, "eid", false);
		json_put_nullable(out, in->eid);
		put_key(out, "name", false);
		json_put_nullable(out, in->name);
		put_key(out, "phone", false);
		json_put_nullable(out, in->phone);
		put_key(out, "company", false);
		json_put_nullable(out, in->company);
		put_key(out, "type", false);
		json_put_nullable(out, in->type);
		put_key(out, "add", false);
		put_ids(out, in->lists, in->nlists);
		put_key(out, "remove", false);
		put_ids(out, in->remove, in->nremove);
		put_key(out, "cf", false);
		if (in->custom)
			buf_puts(out, in->custom);
		else
			buf_append(out, "null", 4);
		buf_putc(out, '}');
	}
	buf_putc(out, ']');
}

void codec_error_member(struct buf *out, const struct apierr *e)
{
	struct buf whole;

	/* {"error":{...}} without its outer braces. */
	buf_init(&whole);
	codec_error(&whole, e);
	buf_append(out, whole.data + 1, whole.len - 2);
	buf_cleanup(&whole);
}
