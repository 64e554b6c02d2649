/* test_codec.c - JSON decoding of request bodies and encoding of objects. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

static const struct {
	const char *body;
	enum api_error kind;
	const char *field;
} contact_errors[] = {
	{"", API_INVALID_JSON, ""},
	{"nope", API_INVALID_JSON, ""},
	{"[]", API_INVALID_JSON, ""},
	{"\"a@b.co\"", API_INVALID_JSON, ""},
	{"42", API_INVALID_JSON, ""},
	{"{\"email\":\"a@b.co\"", API_INVALID_JSON, ""},
	{"{\"email\":\"a@b.co\",\"email\":\"c@d.co\"}", API_INVALID_JSON, ""},
	/* \u0000 is a string the contract refuses as the field, not as JSON */
	{"{\"email\":\"a\\u0000@b.co\"}", API_INVALID_FIELD, "email"},
	{"{\"email\":\"a@b.co\",\"name\":\"a\\u0000b\"}", API_INVALID_FIELD, "name"},
	{"{\"email\":\"a@b.co\",\"field_x\":\"a\\u0000b\"}", API_INVALID_FIELD, "field_x"},
	{"{\"email\":\"a@b.co\",\"addToLists\":[\"a\\u0000\"]}", API_INVALID_FIELD, "addToLists"},
	{"{\"email\":\"a@b.co\",\"removeFromLists\":{}}", API_INVALID_FIELD, "removeFromLists"},
	{"{\"email\":\"a@b.co\",\"addToLists\":[\"x\"],\"removeFromLists\":[\"x\"]}", API_INVALID_FIELD, "removeFromLists"},
	{"{\"email\":\"a@b.co\",\"fields\":[]}", API_INVALID_FIELD, "fields"},
	{"{\"email\":\"a@b.co\",\"fields\":{\"Tier\":1}}", API_UNKNOWN_FIELD, "fields.Tier"},
	{"{\"email\":\"a@b.co\",\"field_\":1}", API_UNKNOWN_FIELD, "field_"},
	{"{\"email\":\"a@b.co\",\"field_t\":{}}", API_INVALID_FIELD, "field_t"},
	{"{\"email\":\"a@b.co\",\"field_t\":1,\"fields\":{\"t\":2}}", API_INVALID_FIELD, "fields.t"},
	{"{\"email\":\"a@b.co\",\"name\":1e400}", API_INVALID_JSON, ""},
	{"{\"email\":\"a@b.co\",\"name\":\"\xff\"}", API_INVALID_JSON, ""},
	{"{\"x\":[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]}", API_INVALID_JSON, ""},
	{"{}", API_MISSING_FIELD, "email"},
	{"{\"name\":\"x\"}", API_MISSING_FIELD, "email"},
	{"{\"email\":null}", API_INVALID_FIELD, "email"},
	{"{\"email\":5}", API_INVALID_FIELD, "email"},
	{"{\"email\":\"not-an-email\"}", API_INVALID_FIELD, "email"},
	{"{\"email\":\"a@b\"}", API_INVALID_FIELD, "email"},
	{"{\"email\":\"a@b.co\",\"name\":5}", API_INVALID_FIELD, "name"},
	{"{\"email\":\"a@b.co\",\"eid\":true}", API_INVALID_FIELD, "eid"},
	{"{\"email\":\"a@b.co\",\"company\":[]}", API_INVALID_FIELD, "company"},
	{"{\"email\":\"a@b.co\",\"type\":\"boss\"}", API_INVALID_FIELD, "type"},
	{"{\"email\":\"a@b.co\",\"type\":null}", API_INVALID_FIELD, "type"},
	{"{\"email\":\"a@b.co\",\"addToLists\":\"abc\"}", API_INVALID_FIELD, "addToLists"},
	{"{\"email\":\"a@b.co\",\"addToLists\":[1]}", API_INVALID_FIELD, "addToLists"},
	{"{\"email\":\"a@b.co\",\"status\":\"active\"}", API_UNKNOWN_FIELD, "status"},
	{"{\"email\":\"a@b.co\",\"Name\":\"x\"}", API_UNKNOWN_FIELD, "Name"},
};

static void test_contact_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(contact_errors) / sizeof(contact_errors[0]); i++) {
		struct contact_input in;
		struct apierr err;
		const char *b = contact_errors[i].body;

		assert_int_equal(codec_parse_contact(b, strlen(b), CONTACT_UPSERT, &in, &err), -1);
		if (err.kind != contact_errors[i].kind)
			fail_msg("case %zu (%s): kind %d", i, b, err.kind);
		assert_string_equal(err.field, contact_errors[i].field);
		assert_true(strlen(err.message) > 0);
	}
}

/* PATCH: everything optional, status allowed (not deleted), email not null. */
static void test_patch(void **state)
{
	static const struct {
		const char *body;
		int rc;
		enum api_error kind;
		const char *field;
	} cases[] = {
		{"{}", 0, API_OK, ""},
		{"{\"status\":\"unsubscribed\"}", 0, API_OK, ""},
		{"{\"status\":\"deleted\"}", -1, API_INVALID_FIELD, "status"},
		{"{\"status\":null}", -1, API_INVALID_FIELD, "status"},
		{"{\"email\":null}", -1, API_INVALID_FIELD, "email"},
		{"{\"type\":null}", -1, API_INVALID_FIELD, "type"},
		{"{\"bogus\":1}", -1, API_UNKNOWN_FIELD, "bogus"},
		{"{\"fields\":{\"tier\":null},\"removeFromLists\":[\"a\"]}", 0, API_OK, ""},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct contact_input in;
		struct apierr err;
		int rc = codec_parse_contact(cases[i].body, strlen(cases[i].body),
					     CONTACT_PATCH, &in, &err);

		if (rc != cases[i].rc)
			fail_msg("case %zu (%s): rc %d", i, cases[i].body, rc);
		if (rc == 0) {
			contact_input_cleanup(&in);
			continue;
		}
		assert_int_equal(err.kind, cases[i].kind);
		assert_string_equal(err.field, cases[i].field);
	}
}

/* Custom values in both spellings become one JSON object; the errors
 * name them as the body did. */
static void test_custom_fields(void **state)
{
	const char *b = "{\"email\":\"a@b.co\",\"field_tier\":\"gold\","
			"\"fields\":{\"score\":1.5,\"vip\":true,\"gone\":null}}";
	struct contact_input in;
	struct apierr err;

	(void)state;
	assert_int_equal(codec_parse_contact(b, strlen(b), CONTACT_UPSERT, &in, &err), 0);
	assert_non_null(in.custom);
	assert_non_null(strstr(in.custom, "\"tier\":\"gold\""));
	assert_non_null(strstr(in.custom, "\"score\":1.5"));
	assert_non_null(strstr(in.custom, "\"gone\":null"));
	assert_string_equal(codec_custom_spelling(&in, "tier"), "field_tier");
	assert_string_equal(codec_custom_spelling(&in, "score"), "fields.score");
	assert_string_equal(codec_custom_spelling(&in, "other"), "other");
	contact_input_cleanup(&in);

	assert_true(codec_field_name_valid("a_1", 3));
	assert_false(codec_field_name_valid("A", 1));
	assert_false(codec_field_name_valid("", 0));
}

static void test_field_input(void **state)
{
	static const struct {
		const char *body;
		enum api_error kind;
		const char *field;
	} bad[] = {
		{"{\"type\":\"string\"}", API_MISSING_FIELD, "name"},
		{"{\"name\":\"tier\"}", API_MISSING_FIELD, "type"},
		{"{\"name\":\"Tier\",\"type\":\"string\"}", API_INVALID_FIELD, "name"},
		{"{\"name\":\"tier\",\"type\":\"text\"}", API_INVALID_FIELD, "type"},
		{"{\"name\":\"tier\",\"type\":\"date\",\"x\":1}", API_UNKNOWN_FIELD, "x"},
	};
	struct field_input in;
	struct apierr err;
	const char *ok = "{\"name\":\"tier\",\"type\":\"date\"}";

	(void)state;
	assert_int_equal(codec_parse_field(ok, strlen(ok), &in, &err), 0);
	assert_string_equal(in.name, "tier");
	assert_string_equal(in.type, "date");
	field_input_cleanup(&in);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(codec_parse_field(bad[i].body, strlen(bad[i].body), &in, &err), -1);
		assert_int_equal(err.kind, bad[i].kind);
		assert_string_equal(err.field, bad[i].field);
	}
}

static void test_contact_full(void **state)
{
	const char *b = "{\"email\":\"  Ann.Lee@Example.COM \",\"name\":\"Ann\","
			"\"eid\":null,\"phone\":\"+1 555\",\"company\":\"Acme\","
			"\"type\":\"employee\",\"addToLists\":[\"abc\",\"def\",\"abc\"]}";
	struct contact_input in;
	struct apierr err;

	(void)state;
	assert_int_equal(codec_parse_contact(b, strlen(b), CONTACT_UPSERT, &in, &err), 0);
	assert_string_equal(in.email, "Ann.Lee@Example.COM");
	assert_string_equal(in.email_key, "ann.lee@example.com");
	assert_string_equal(in.name, "Ann");
	assert_null(in.eid);
	assert_string_equal(in.phone, "+1 555");
	assert_string_equal(in.type, "employee");
	assert_int_equal(in.fields, FIELD_EMAIL | FIELD_EID | FIELD_NAME | FIELD_PHONE |
					    FIELD_COMPANY | FIELD_TYPE);
	assert_int_equal(in.nlists, 3);
	assert_string_equal(in.lists[2], "abc");
	contact_input_cleanup(&in);
}

static void test_contact_limits(void **state)
{
	char body[4096], name[1100];
	struct contact_input in;
	struct apierr err;

	(void)state;
	/* 255 characters of a 2-byte letter: fine; 256: refused. */
	name[0] = '\0';
	for (int i = 0; i < 255; i++)
		strcat(name, "\xc3\xa9");
	snprintf(body, sizeof(body), "{\"email\":\"a@b.co\",\"name\":\"%s\"}", name);
	assert_int_equal(codec_parse_contact(body, strlen(body), CONTACT_UPSERT, &in, &err), 0);
	contact_input_cleanup(&in);
	strcat(name, "x");
	snprintf(body, sizeof(body), "{\"email\":\"a@b.co\",\"name\":\"%s\"}", name);
	assert_int_equal(codec_parse_contact(body, strlen(body), CONTACT_UPSERT, &in, &err), -1);
	assert_string_equal(err.field, "name");

	/* phone: 64 fine, 65 refused */
	snprintf(body, sizeof(body), "{\"email\":\"a@b.co\",\"phone\":\"%064d\"}", 0);
	assert_int_equal(codec_parse_contact(body, strlen(body), CONTACT_UPSERT, &in, &err), 0);
	contact_input_cleanup(&in);
	snprintf(body, sizeof(body), "{\"email\":\"a@b.co\",\"phone\":\"%065d\"}", 0);
	assert_int_equal(codec_parse_contact(body, strlen(body), CONTACT_UPSERT, &in, &err), -1);
	assert_string_equal(err.field, "phone");
}

static void test_contact_list_count(void **state)
{
	struct buf b;
	struct contact_input in;
	struct apierr err;

	(void)state;
	buf_init(&b);
	buf_puts(&b, "{\"email\":\"a@b.co\",\"addToLists\":[");
	for (int i = 0; i < 101; i++)
		buf_printf(&b, "%s\"l%d\"", i ? "," : "", i);
	buf_puts(&b, "]}");
	assert_int_equal(codec_parse_contact(b.data, b.len, CONTACT_UPSERT, &in, &err), -1);
	assert_int_equal(err.kind, API_INVALID_FIELD);
	assert_string_equal(err.field, "addToLists");
	buf_cleanup(&b);
}

static void test_list_input(void **state)
{
	struct list_input in;
	struct apierr err;
	const char *ok = "{\"name\":\"VIP\"}";
	const char *typed = "{\"name\":\"Staff\",\"type\":\"employee\"}";
	const char *missing = "{\"type\":\"employee\"}";
	const char *unknown = "{\"name\":\"x\",\"count\":1}";

	(void)state;
	assert_int_equal(codec_parse_list(ok, strlen(ok), false, &in, &err), 0);
	assert_string_equal(in.name, "VIP");
	assert_string_equal(in.type, "customer");
	list_input_cleanup(&in);
	assert_int_equal(codec_parse_list(typed, strlen(typed), false, &in, &err), 0);
	assert_string_equal(in.type, "employee");
	list_input_cleanup(&in);
	assert_int_equal(codec_parse_list(missing, strlen(missing), false, &in, &err), -1);
	assert_int_equal(err.kind, API_MISSING_FIELD);
	assert_int_equal(codec_parse_list(unknown, strlen(unknown), false, &in, &err), -1);
	assert_int_equal(err.kind, API_UNKNOWN_FIELD);
	assert_string_equal(err.field, "count");
}

static void test_encode_contact(void **state)
{
	struct contact c = {
		.id = "Ab3dE5gH9", .email = "a\"b\\c@d.co", .eid = NULL,
		.name = "tab\there\x01", .phone = NULL, .company = "Caf\xc3\xa9",
		.type = "customer", .status = "active",
		.created_at = 1603378552638, .updated_at = 1603378552639,
		.has_deleted_at = false, .last_action = NULL,
	};
	struct buf b;

	(void)state;
	buf_init(&b);
	codec_contact(&b, &c);
	assert_string_equal(b.data,
		"{\"id\":\"Ab3dE5gH9\",\"email\":\"a\\\"b\\\\c@d.co\",\"eid\":null,"
		"\"name\":\"tab\\there\\u0001\",\"phone\":null,\"company\":\"Caf\xc3\xa9\","
		"\"type\":\"customer\",\"status\":\"active\","
		"\"created_at\":\"2020-10-22T14:55:52.638Z\","
		"\"updated_at\":\"2020-10-22T14:55:52.639Z\",\"deleted_at\":null,"
		"\"last_action\":null,\"fields\":{}}");
	buf_cleanup(&b);
}

static void test_encode_list_and_error(void **state)
{
	struct list l = {.id = "L1", .name = "VIP", .type = "customer", .count = 3,
			 .created_at = 0, .updated_at = 0, .has_deleted_at = true,
			 .deleted_at = 1000};
	struct apierr e;
	struct buf b;

	(void)state;
	buf_init(&b);
	codec_list(&b, &l);
	assert_string_equal(b.data,
		"{\"id\":\"L1\",\"name\":\"VIP\",\"type\":\"customer\",\"count\":3,"
		"\"source\":\"list\",\"created_at\":\"1970-01-01T00:00:00.000Z\","
		"\"updated_at\":\"1970-01-01T00:00:00.000Z\","
		"\"deleted_at\":\"1970-01-01T00:00:01.000Z\"}");
	buf_reset(&b);
	apierr_set(&e, API_INVALID_FIELD, "email", "email is \"bad\"");
	codec_error(&b, &e);
	assert_string_equal(b.data, "{\"error\":{\"code\":\"invalid_field\","
				    "\"message\":\"email is \\\"bad\\\"\",\"field\":\"email\"}}");
	buf_reset(&b);
	apierr_set(&e, API_NOT_FOUND, NULL, "no such path");
	codec_error(&b, &e);
	assert_string_equal(b.data, "{\"error\":{\"code\":\"not_found\","
				    "\"message\":\"no such path\"}}");
	buf_cleanup(&b);
}

static void test_long_unknown_field(void **state)
{
	/* A 70-byte key of 2-byte letters: the field is cut at a character
	 * boundary, never in the middle of one. */
	struct buf b;
	struct contact_input in;
	struct apierr err;

	(void)state;
	buf_init(&b);
	buf_puts(&b, "{\"email\":\"a@b.co\",\"");
	for (int i = 0; i < 35; i++)
		buf_puts(&b, "\xc3\xa9");
	buf_puts(&b, "\":1}");
	assert_int_equal(codec_parse_contact(b.data, b.len, CONTACT_UPSERT, &in, &err), -1);
	assert_int_equal(err.kind, API_UNKNOWN_FIELD);
	assert_true(strlen(err.field) % 2 == 0 && strlen(err.field) >= 60);
	buf_reset(&b);
	codec_error(&b, &err);
	assert_non_null(strstr(b.data, "\"field\":\"\xc3\xa9"));
	buf_cleanup(&b);
}

static void test_depth(void **state)
{
	(void)state;
	assert_int_equal(json_check_depth("{\"a\":[1,{\"b\":2}]}", 17, 3), 0);
	assert_int_equal(json_check_depth("[[[[]]]]", 8, 3), -1);
	/* brackets inside strings do not count */
	assert_int_equal(json_check_depth("{\"a\":\"[[[[[[\"}", 13, 1), 0);
	assert_int_equal(json_check_depth("{\"a\\\"[[[\":1}", 12, 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_contact_errors),
		cmocka_unit_test(test_contact_full),
		cmocka_unit_test(test_patch),
		cmocka_unit_test(test_custom_fields),
		cmocka_unit_test(test_field_input),
		cmocka_unit_test(test_contact_limits),
		cmocka_unit_test(test_contact_list_count),
		cmocka_unit_test(test_list_input),
		cmocka_unit_test(test_encode_contact),
		cmocka_unit_test(test_encode_list_and_error),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_long_unknown_field),
	};

	return cmocka_run_group_tests_name("codec", tests, NULL, NULL);
}
