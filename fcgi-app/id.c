/* id.c - random public identifiers and API key secrets.
 *
 * Each character comes from one random byte.  256 is not a multiple of 62,
 * so a plain modulo would favour the first 256 % 62 = 8 characters; bytes
 * from 248 (= 4 * 62) up are thrown away instead (rejection sampling), which
 * leaves every character exactly 4/248 likely.
 */
#include "id.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/random.h>
#include <sys/types.h>

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

#define ALPHABET_LEN 62
#define ACCEPT_BELOW (256 / ALPHABET_LEN * ALPHABET_LEN) /* 248 */

/* Fills buf with n random bytes from the kernel's CSPRNG.  getrandom()
 * blocks until the pool is initialised, then never fails for reads of up to
 * 256 bytes but may be interrupted by a signal or return short. */
static int fill_random(unsigned char *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = getrandom(buf + got, n - got, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)r;
	}
	return 0;
}

int id_random(char *out, size_t len)
{
	unsigned char pool[64];
	size_t w = 0;

	while (w < len) {
		/* Ask for what is missing plus a little slack for rejected
		 * bytes (3% of them on average). */
		size_t want = len - w + 8;

		if (want > sizeof(pool))
			want = sizeof(pool);
		if (fill_random(pool, want) < 0) {
			out[0] = '\0';
			return -1;
		}
		for (size_t i = 0; i < want && w < len; i++)
			if (pool[i] < ACCEPT_BELOW)
				out[w++] = alphabet[pool[i] % ALPHABET_LEN];
	}
	out[len] = '\0';
	return 0;
}

static bool is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

int id_valid(const char *s, size_t len)
{
	if (!s || len != ID_LEN)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!is_alnum((unsigned char)s[i]))
			return 0;
	return 1;
}
