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
};

#define CONTACT_MAX_LISTS 100

/* A decoded POST /contacts body. */
struct contact_input {
	const char *email;  /* trimmed, NUL-terminated */
	char *email_key;    /* owned: the folded matching key */
	unsigned fields;    /* enum contact_field bits */
	const char *eid;
	const char *name;
	const char *phone;
	const char *company;
	const char *type;
	const char *lists[CONTACT_MAX_LISTS];
	size_t nlists;
	void *owner;        /* owned: the parsed document the strings live in */
	char *email_copy;   /* owned: the trimmed email */
};

/* A decoded POST /lists body. */
struct list_input {
	const char *name;
	const char *type; /* never NULL after decoding: defaults to customer */
	void *owner;      /* owned */
};

#endif
