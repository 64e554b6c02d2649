/* id.h - random public identifiers and API key secrets. */
#ifndef CONTACTS_ID_H
#define CONTACTS_ID_H

#include <stddef.h>

#define ID_LEN 9 /* characters of [A-Za-z0-9] */

/* Fills out with len characters of [A-Za-z0-9] from the kernel's CSPRNG
 * (getrandom), unbiased (rejection sampling), and a terminating NUL: out must
 * hold len + 1 bytes.  Returns 0, or -1 if the kernel gives no randomness. */
int id_random(char *out, size_t len) __attribute__((warn_unused_result));

/* True when s is exactly ID_LEN characters of [A-Za-z0-9]. */
int id_valid(const char *s, size_t len);

#endif
