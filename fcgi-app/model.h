/* model.h - the API's objects as plain C values.
 *
 * Strings are borrowed from whoever produced the value (a store row set or a
 * decoded request body) and live as long as it does; NULL means JSON null.
 * Times are milliseconds since the Unix epoch.
 */
#ifndef CONTACTS_MODEL_H
#define CONTACTS_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct contact {
	const char *id;
	const char *email;
	const char *eid;
	const char *name;
	const char *phone;
	const char *company;
	const char *type;
	const char *status;
	int64_t created_at;
	int64_t updated_at;
	int64_t deleted_at;
	bool has_deleted_at;
	const char *last_action;
	const char *fields; /* custom field values: a JSON object's text */
	size_t fields_len;
};

struct list {
	const char *id;
	const char *name;
	const char *type;
	int64_t count;
	int64_t created_at;
	int64_t updated_at;
	int64_t deleted_at;
	bool has_deleted_at;
};

/* Which optional fields a POST /contacts body carried (with a value or null). */
enum contact_field {
	FIELD_EID = 1,
	FIELD_NAME = 2,
	FIELD_PHONE = 4,
	FIELD_COMPANY = 8,
	FIELD_TYPE = 16,
	FIELD_EMAIL = 32,  /* PATCH only: POST always carries the email */
	FIELD_STATUS = 64, /* PATCH only */
};

#define CONTACT_MAX_LISTS 100

/* A decoded POST /contacts body (or a bulk row, or a PATCH body). */
struct contact_input {
	const char *email;  /* trimmed, NUL-terminated; NULL in a PATCH without it */
	char *email_key;    /* owned: the folded matching key */
	unsigned fields;    /* enum contact_field bits */
	const char *eid;
	const char *name;
	const char *phone;
	const char *company;
	const char *type;
	const char *status; /* PATCH only */
	const char *lists[CONTACT_MAX_LISTS];   /* addToLists */
	size_t nlists;
	const char *remove[CONTACT_MAX_LISTS];  /* removeFromLists */
	size_t nremove;
	char *custom;       /* owned: {"<name>": value|null} as JSON text, or NULL */
	void *spelling;     /* owned: custom field name -> how the body named it */
	void *owner;        /* owned: the parsed document the strings live in */
	char *email_copy;   /* owned: the trimmed email */
};

/* A decoded POST /lists or PATCH /lists/{id} body. */
struct list_input {
	const char *name; /* NULL in a PATCH without it */
	const char *type; /* POST: never NULL, defaults to customer */
	void *owner;      /* owned */
};

/* A custom field's definition. */
struct field_def {
	const char *name;
	const char *type; /* string, number, boolean or date */
	int64_t created_at;
};

#endif
