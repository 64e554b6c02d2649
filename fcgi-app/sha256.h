/* sha256.h - SHA-256 (FIPS 180-4) and a constant-time comparison, for API
 * key hashes. */
#ifndef CONTACTS_SHA256_H
#define CONTACTS_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32

void sha256(const void *data, size_t len, uint8_t out[SHA256_LEN]);

/* 1 when a and b are equal, else 0; time depends only on len. */
int ct_equal(const void *a, const void *b, size_t len);

#endif
