/* conninfo.h - libpq connection strings, for display.
 *
 * libpq takes a connection string in two forms, `key=value ...` and a URI
 * (`postgresql://user:secret@host/db?sslpassword=...`); a password can sit
 * in either, in several places.  Rather than guess, the string is parsed by
 * libpq itself (PQconninfoParse) and written back in the keyword form,
 * every option libpq marks as secret (password, sslpassword) shown as
 * CONNINFO_MASK.
 */
#ifndef CONTACTS_CONNINFO_H
#define CONTACTS_CONNINFO_H

#define CONNINFO_MASK "********"

/* The options conninfo sets, as `key=value` pairs in libpq's order, values
 * quoted where libpq needs it, secrets replaced by CONNINFO_MASK.  A dbname
 * that is itself a connection string (libpq expands it when it connects)
 * is masked the same way.  Returns a new string (free() it), or NULL when
 * libpq cannot parse conninfo: then nothing of it may be shown. */
char *conninfo_masked(const char *conninfo)
	__attribute__((warn_unused_result));

#endif
