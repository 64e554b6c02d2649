/* fuzz_body.c - libFuzzer harness for the request-body decoder (codec.c).
 *
 * Each input is offered as a POST /contacts body, a PATCH /contacts/{id}
 * body, a DELETE /contacts body, a POST /lists and PATCH /lists/{id} body,
 * and a POST /fields body.
 * Beyond "no crash, no leak, no undefined behaviour" it checks properties:
 *
 *  - a refused body carries an error kind and a message, and codec_error()
 *    turns it into valid UTF-8 that Jansson parses back;
 *  - an accepted body gives a valid, trimmed email whose key is its fold,
 *    only known types, and strings that fit their limits;
 *  - round trip: the decoded strings, written back with codec_contact() /
 *    codec_list(), are valid UTF-8, parse back with Jansson (no duplicate
 *    keys) and every string comes back byte for byte, length included;
 *  - the timestamps written are what gmtime_r() says, or null outside the
 *    years 0001-9999;
 *  - json_check_depth() is monotonic in its limit.
 *
 * A failed property calls abort(), which libFuzzer reports as a crash.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "codec.h"
#include "errors.h"
#include "model.h"
#include "timefmt.h"
#include "validate.h"

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "fuzz_body: property failed: %s (%s:%d)\n", \
				#cond, __FILE__, __LINE__);                  \
			abort();                                             \
		}                                                            \
	} while (0)

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* Milliseconds to feed the time formatter: mostly inside the years the
 * API can show, sometimes on its edges, sometimes any 64-bit value. */
static int64_t pick_ms(uint64_t h)
{
	static const int64_t edges[] = {
		0, -1, 1, INT64_MIN, INT64_MAX,
		-62135596800000LL,     /* 0001-01-01T00:00:00.000Z */
		-62135596800001LL,     /* one ms before: year 0 */
		253402300799999LL,     /* 9999-12-31T23:59:59.999Z */
		253402300800000LL,     /* 10000-01-01 */
		951782400000LL,        /* 2000-02-29 */
		1603378552638LL,       /* 2020-10-22T14:55:52.638Z */
	};
	const int64_t lo = -62135596800000LL - 86400000LL;
	const uint64_t span = (uint64_t)(253402300800000LL + 86400000LL - lo);

	switch (h & 3) {
	case 0:
		return (int64_t)(h >> 2) - (int64_t)(UINT64_MAX >> 3);
	case 1:
		return edges[(h >> 2) % (sizeof(edges) / sizeof(edges[0]))];
	default:
		return lo + (int64_t)((h >> 2) % span);
	}
}

/* What the API must show for ms: the ISO form, or NULL when outside the
 * years 0001-9999.  Reference implementation on top of gmtime_r(). */
static bool expected_time(int64_t ms, char out[64])
{
	int64_t secs = ms / 1000, msec = ms % 1000;
	time_t t;
	struct tm tm;

	if (msec < 0) {
		msec += 1000;
		secs--;
	}
	t = (time_t)secs;
	if (!gmtime_r(&t, &tm))
		return false;
	if (tm.tm_year + 1900LL < 1 || tm.tm_year + 1900LL > 9999)
		return false;
	snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)msec);
	return true;
}

static void check_time(json_t *obj, const char *key, int64_t ms, bool present)
{
	json_t *v = json_object_get(obj, key);
	char want[64];

	CHECK(v != NULL);
	if (!present || !expected_time(ms, want)) {
		if (!json_is_null(v))
			fprintf(stderr, "fuzz_body: %s=%lld should be null, got %s\n",
				key, (long long)ms, json_string_value(v));
		CHECK(json_is_null(v));
		return;
	}
	CHECK(json_is_string(v));
	if (strcmp(json_string_value(v), want) != 0)
		fprintf(stderr, "fuzz_body: %s=%lld written as %s, expected %s\n", key,
			(long long)ms, json_string_value(v), want);
	CHECK(strcmp(json_string_value(v), want) == 0);
}

/* The member key of obj written back must be exactly the string it was
 * decoded from (src, a Jansson string), or null when src is NULL/null. */
static void check_string(json_t *obj, const char *key, json_t *src,
			 const char *fallback)
{
	json_t *v = json_object_get(obj, key);

	CHECK(v != NULL);
	if (src && json_is_string(src)) {
		CHECK(json_is_string(v));
		if (json_string_length(v) != json_string_length(src) ||
		    memcmp(json_string_value(v), json_string_value(src),
			   json_string_length(v)) != 0)
			fprintf(stderr,
				"fuzz_body: %s did not round-trip (%zu bytes in, %zu out)\n",
				key, json_string_length(src), json_string_length(v));
		CHECK(json_string_length(v) == json_string_length(src));
		CHECK(memcmp(json_string_value(v), json_string_value(src),
			     json_string_length(v)) == 0);
	} else if (fallback) {
		CHECK(json_is_string(v));
		CHECK(strcmp(json_string_value(v), fallback) == 0);
	} else {
		CHECK(json_is_null(v));
	}
}

/* Output written by the codec must be valid UTF-8 and a JSON object that
 * Jansson accepts with duplicate keys refused.  Returns a new reference. */
static json_t *reparse(const struct buf *out)
{
	json_error_t jerr;
	json_t *doc;

	CHECK(out->len > 0 && out->data != NULL);
	CHECK(out->data[out->len] == '\0');
	CHECK(strlen(out->data) == out->len); /* no raw NUL written */
	CHECK(utf8_valid(out->data, out->len));
	doc = json_loadb(out->data, out->len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc)
		fprintf(stderr, "fuzz_body: output does not parse: %s at %d: %.200s\n",
			jerr.text, jerr.position, out->data);
	CHECK(doc != NULL);
	CHECK(json_is_object(doc));
	return doc;
}

static void check_error(const struct apierr *err)
{
	struct buf out;
	json_t *doc, *e;

	CHECK(err->kind != API_OK);
	CHECK(memchr(err->field, '\0', sizeof(err->field)) != NULL);
	CHECK(memchr(err->message, '\0', sizeof(err->message)) != NULL);
	CHECK(err->message[0] != '\0');
	CHECK(api_error_status(err->kind) >= 400);

	buf_init(&out);
	codec_error(&out, err);
	doc = reparse(&out);
	e = json_object_get(doc, "error");
	CHECK(json_is_object(e));
	CHECK(json_is_string(json_object_get(e, "code")));
	CHECK(strcmp(json_string_value(json_object_get(e, "code")),
		     api_error_code(err->kind)) == 0);
	CHECK(json_is_string(json_object_get(e, "message")));
	json_decref(doc);
	buf_cleanup(&out);
}

static size_t count_code_points(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static void check_text_field(json_t *root, const char *key, const char *val,
			     unsigned fields, unsigned bit, size_t max)
{
	json_t *src = json_object_get(root, key);

	if (!src) {
		CHECK(!(fields & bit));
		CHECK(val == NULL);
		return;
	}
	CHECK(fields & bit);
	if (json_is_null(src)) {
		CHECK(val == NULL);
		return;
	}
	CHECK(strlen(val) == json_string_length(src));
	CHECK(memcmp(val, json_string_value(src), json_string_length(src)) == 0);
	CHECK(utf8_valid(val, json_string_length(src)));
	CHECK(count_code_points(val) <= max);
}

/* The custom values of an accepted body: a JSON object of valid names and
 * scalar values, which the encoder writes back as the same object. */
static void check_custom(const struct contact_input *in, json_t *written)
{
	json_t *custom, *v;
	const char *name;

	CHECK(json_is_object(written));
	if (!in->custom) {
		CHECK(json_object_size(written) == 0);
		return;
	}
	custom = json_loads(in->custom, JSON_ALLOW_NUL, NULL);
	CHECK(json_is_object(custom) && json_object_size(custom) > 0);
	json_object_foreach(custom, name, v) {
		CHECK(codec_field_name_valid(name, strlen(name)));
		CHECK(!json_is_object(v) && !json_is_array(v));
		CHECK(strcmp(codec_custom_spelling(in, name), name) != 0);
	}
	CHECK(json_equal(custom, written));
	json_decref(custom);
}

/* No list is both added and removed; every id is a string. */
static void check_lists(const struct contact_input *in)
{
	CHECK(in->nlists <= CONTACT_MAX_LISTS && in->nremove <= CONTACT_MAX_LISTS);
	for (size_t i = 0; i < in->nremove; i++) {
		CHECK(in->remove[i] != NULL);
		for (size_t j = 0; j < in->nlists; j++)
			CHECK(strcmp(in->remove[i], in->lists[j]) != 0);
	}
}

static void fuzz_patch(const uint8_t *data, size_t size)
{
	struct contact_input in;
	struct apierr err;

	if (codec_parse_contact((const char *)data, size, CONTACT_PATCH, &in, &err) < 0) {
		check_error(&err);
		return;
	}
	CHECK((in.email != NULL) == ((in.fields & FIELD_EMAIL) != 0));
	if (in.email)
		CHECK(email_valid(in.email, strlen(in.email)));
	CHECK((in.status != NULL) == ((in.fields & FIELD_STATUS) != 0));
	if (in.status)
		CHECK(strcmp(in.status, "active") == 0 ||
		      strcmp(in.status, "unsubscribed") == 0 ||
		      strcmp(in.status, "error") == 0);
	if (in.fields & FIELD_TYPE)
		CHECK(in.type != NULL);
	check_lists(&in);
	if (in.custom) {
		json_t *custom = json_loads(in.custom, JSON_ALLOW_NUL, NULL);

		CHECK(json_is_object(custom));
		json_decref(custom);
	}
	contact_input_cleanup(&in);
}

static void fuzz_email_only(const uint8_t *data, size_t size)
{
	struct contact_input in;
	struct apierr err;

	if (codec_parse_contact((const char *)data, size, CONTACT_EMAIL_ONLY, &in,
				&err) < 0) {
		check_error(&err);
		return;
	}
	CHECK(in.email != NULL && email_valid(in.email, strlen(in.email)));
	CHECK(in.fields == FIELD_EMAIL && in.nlists == 0 && !in.custom);
	CHECK(json_object_size((json_t *)in.owner) == 1);
	contact_input_cleanup(&in);
}

static void fuzz_field(const uint8_t *data, size_t size)
{
	struct field_input in;
	struct apierr err;

	if (codec_parse_field((const char *)data, size, &in, &err) < 0) {
		check_error(&err);
		return;
	}
	CHECK(codec_field_name_valid(in.name, strlen(in.name)));
	CHECK(strcmp(in.type, "string") == 0 || strcmp(in.type, "number") == 0 ||
	      strcmp(in.type, "boolean") == 0 || strcmp(in.type, "date") == 0);
	field_input_cleanup(&in);
}

static void fuzz_list_patch(const uint8_t *data, size_t size)
{
	struct list_input in;
	struct apierr err;

	if (codec_parse_list((const char *)data, size, true, &in, &err) < 0) {
		check_error(&err);
		return;
	}
	if (in.name)
		CHECK(count_code_points(in.name) <= 255);
	if (in.type)
		CHECK(strcmp(in.type, "customer") == 0 || strcmp(in.type, "employee") == 0);
	list_input_cleanup(&in);
}

/* A bulk body: either refused as a whole, or 1-1000 rows each decoded or
 * refused on its own; the rows' JSON for the store parses back with one
 * object per valid row. */
static void fuzz_bulk(const uint8_t *data, size_t size)
{
	struct bulk_input b;
	struct apierr err;
	struct buf out;
	json_t *rows;
	size_t valid = 0;

	if (codec_parse_bulk((const char *)data, size, &b, &err) < 0) {
		check_error(&err);
		return;
	}
	CHECK(b.n >= 1 && b.n <= BULK_MAX_ROWS);
	for (size_t i = 0; i < b.n; i++) {
		if (b.rows[i].ok) {
			CHECK(b.rows[i].in.email && email_valid(b.rows[i].in.email,
								 strlen(b.rows[i].in.email)));
			check_lists(&b.rows[i].in);
			snprintf(b.rows[i].id, sizeof(b.rows[i].id), "Ab3dE5gH%zu", i % 10);
			valid++;
		} else {
			check_error(&b.rows[i].err);
		}
	}
	buf_init(&out);
	codec_bulk_rows(&out, &b);
	rows = json_loadb(out.data, out.len, JSON_ALLOW_NUL, NULL);
	CHECK(json_is_array(rows) && json_array_size(rows) == valid);
	json_decref(rows);
	buf_cleanup(&out);
	bulk_input_cleanup(&b);
}

static void fuzz_contact(const uint8_t *data, size_t size, uint64_t h)
{
	struct contact_input in;
	struct apierr err;
	struct contact c;
	struct buf out;
	json_t *root, *doc;
	size_t elen;

	if (codec_parse_contact((const char *)data, size, CONTACT_UPSERT, &in, &err) < 0) {
		check_error(&err);
		return;
	}

	/* What an accepted body must look like. */
	CHECK(size > 0 && size <= CODEC_MAX_BODY);
	CHECK(utf8_valid((const char *)data, size));
	CHECK(json_check_depth((const char *)data, size, CODEC_MAX_DEPTH) == 0);
	root = in.owner;
	CHECK(json_is_object(root));
	CHECK(in.email != NULL && in.email_key != NULL);
	elen = strlen(in.email);
	CHECK(email_valid(in.email, elen));
	CHECK(elen <= EMAIL_MAX_LEN);
	{
		size_t tlen;
		const char *t = str_trim(in.email, elen, &tlen);

		CHECK(t == in.email && tlen == elen);
	}
	CHECK(strlen(in.email_key) == elen);
	for (size_t i = 0; i < elen; i++) {
		char ch = in.email[i];

		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		CHECK(in.email_key[i] == ch);
	}
	check_text_field(root, "eid", in.eid, in.fields, FIELD_EID, 255);
	check_text_field(root, "name", in.name, in.fields, FIELD_NAME, 255);
	check_text_field(root, "phone", in.phone, in.fields, FIELD_PHONE, 64);
	check_text_field(root, "company", in.company, in.fields, FIELD_COMPANY, 255);
	if (in.type) {
		CHECK(in.fields & FIELD_TYPE);
		CHECK(strcmp(in.type, "customer") == 0 ||
		      strcmp(in.type, "employee") == 0);
	} else {
		CHECK(!(in.fields & FIELD_TYPE));
	}
	CHECK(in.nlists <= CONTACT_MAX_LISTS);
	for (size_t i = 0; i < in.nlists; i++)
		CHECK(in.lists[i] != NULL);
	check_lists(&in);

	/* Round trip through the encoder. */
	memset(&c, 0, sizeof(c));
	c.id = "Ab3dE5gH9";
	c.email = in.email;
	c.eid = in.eid;
	c.name = in.name;
	c.phone = in.phone;
	c.company = in.company;
	c.type = in.type ? in.type : "customer";
	c.status = "active";
	c.created_at = pick_ms(h);
	c.updated_at = pick_ms(h * 31 + 7);
	c.deleted_at = pick_ms(h * 131 + 3);
	c.has_deleted_at = (h >> 60) & 1;
	c.last_action = "created";
	c.fields = in.custom;
	c.fields_len = in.custom ? strlen(in.custom) : 0;

	buf_init(&out);
	codec_contact(&out, &c);
	doc = reparse(&out);
	CHECK(json_object_size(doc) == 13);
	check_custom(&in, json_object_get(doc, "fields"));
	CHECK(strcmp(json_string_value(json_object_get(doc, "id")), c.id) == 0);
	{
		json_t *e = json_object_get(doc, "email");

		CHECK(json_is_string(e));
		CHECK(json_string_length(e) == elen);
		CHECK(memcmp(json_string_value(e), in.email, elen) == 0);
	}
	check_string(doc, "eid", in.eid ? json_object_get(root, "eid") : NULL, NULL);
	check_string(doc, "name", in.name ? json_object_get(root, "name") : NULL, NULL);
	check_string(doc, "phone", in.phone ? json_object_get(root, "phone") : NULL, NULL);
	check_string(doc, "company",
		     in.company ? json_object_get(root, "company") : NULL, NULL);
	check_string(doc, "type", NULL, c.type);
	check_string(doc, "status", NULL, "active");
	check_string(doc, "last_action", NULL, "created");
	check_time(doc, "created_at", c.created_at, true);
	check_time(doc, "updated_at", c.updated_at, true);
	check_time(doc, "deleted_at", c.deleted_at, c.has_deleted_at);
	json_decref(doc);
	buf_cleanup(&out);

	contact_input_cleanup(&in);
	CHECK(in.owner == NULL && in.email_key == NULL && in.email_copy == NULL);
	contact_input_cleanup(NULL);
}

static void fuzz_list(const uint8_t *data, size_t size, uint64_t h)
{
	struct list_input in;
	struct apierr err;
	struct list l;
	struct buf out;
	json_t *root, *doc;

	if (codec_parse_list((const char *)data, size, false, &in, &err) < 0) {
		check_error(&err);
		return;
	}
	root = in.owner;
	CHECK(json_is_object(root));
	CHECK(in.name != NULL);
	CHECK(json_is_string(json_object_get(root, "name")));
	CHECK(strcmp(in.name, json_string_value(json_object_get(root, "name"))) == 0);
	CHECK(count_code_points(in.name) <= 255);
	CHECK(in.type != NULL);
	CHECK(strcmp(in.type, "customer") == 0 || strcmp(in.type, "employee") == 0);

	memset(&l, 0, sizeof(l));
	l.id = "L1st0fAbc";
	l.name = in.name;
	l.type = in.type;
	l.count = (int64_t)(h >> 1) - (int64_t)(UINT64_MAX >> 2);
	l.created_at = pick_ms(h);
	l.updated_at = pick_ms(h * 31 + 7);
	l.deleted_at = pick_ms(h * 131 + 3);
	l.has_deleted_at = (h >> 60) & 1;

	buf_init(&out);
	codec_list(&out, &l);
	doc = reparse(&out);
	CHECK(json_object_size(doc) == 8);
	check_string(doc, "name", json_object_get(root, "name"), NULL);
	check_string(doc, "type", NULL, in.type);
	check_string(doc, "source", NULL, "list");
	CHECK(json_is_integer(json_object_get(doc, "count")));
	CHECK(json_integer_value(json_object_get(doc, "count")) == l.count);
	check_time(doc, "created_at", l.created_at, true);
	check_time(doc, "updated_at", l.updated_at, true);
	check_time(doc, "deleted_at", l.deleted_at, l.has_deleted_at);
	json_decref(doc);
	buf_cleanup(&out);

	list_input_cleanup(&in);
	CHECK(in.owner == NULL);
	list_input_cleanup(NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	uint64_t h = fnv1a(data, size);
	int prev = 0;

	/* Depth check: safe on any bytes, and monotonic in its limit. */
	for (int d = 0; d <= CODEC_MAX_DEPTH + 1; d++) {
		int r = json_check_depth(s, size, d);

		CHECK(r == 0 || r == -1);
		CHECK(!(prev == 0 && r == -1 && d > 0));
		prev = r;
	}
	(void)json_check_depth(s, size, 100000);

	fuzz_contact(data, size, h);
	fuzz_patch(data, size);
	fuzz_email_only(data, size);
	fuzz_list(data, size, h);
	fuzz_list_patch(data, size);
	fuzz_field(data, size);
	fuzz_bulk(data, size);
	return 0;
}
