/* fuzz_email.c - libFuzzer harness for validate.c: str_trim, email_valid,
 * email_fold, utf8_valid and utf8_length on arbitrary bytes.
 *
 * Properties checked (abort() on failure, which libFuzzer reports):
 *  - str_trim returns a sub-range of its input with only white space cut
 *    off, and trimming twice changes nothing;
 *  - utf8_valid agrees with a small reference decoder (no overlongs, no
 *    surrogates, nothing above U+10FFFF); on valid text utf8_length is the
 *    number of non-continuation bytes;
 *  - email_valid implies: valid UTF-8, at most 254 bytes, no NUL, exactly
 *    one '@', a local part of 1-64 bytes without leading, trailing or
 *    doubled dots, a domain of >= 2 labels of 1-63 bytes that neither start
 *    nor end with '-'; and for ASCII-only input email_valid agrees exactly
 *    with the rule written in validate.h;
 *  - email_fold keeps the length, lower-cases ASCII letters only, is
 *    idempotent, and folding does not change validity.
 *
 * Buffers are sized exactly, so AddressSanitizer sees any overrun.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validate.h"

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "fuzz_email: property failed: %s (%s:%d)\n", \
				#cond, __FILE__, __LINE__);                  \
			abort();                                             \
		}                                                            \
	} while (0)

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

static bool is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/* RFC 5322 atext, ASCII part. */
static bool is_atext(unsigned char c)
{
	return is_alnum(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* Reference UTF-8 check (RFC 3629, table 3-7 of the Unicode standard). */
static bool ref_utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		unsigned char lo = 0x80, hi = 0xbf;

		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
		} else if (c == 0xe0) {
			n = 2;
			lo = 0xa0;
		} else if (c == 0xed) {
			n = 2;
			hi = 0x9f;
		} else if (c >= 0xe1 && c <= 0xef) {
			n = 2;
		} else if (c == 0xf0) {
			n = 3;
			lo = 0x90;
		} else if (c == 0xf4) {
			n = 3;
			hi = 0x8f;
		} else if (c >= 0xf1 && c <= 0xf3) {
			n = 3;
		} else {
			return false;
		}
		if (len - i - 1 < n)
			return false;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (size_t k = 2; k <= n; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				return false;
		i += n + 1;
	}
	return true;
}

/* The rule of validate.h for ASCII-only input. */
static bool ref_email_valid_ascii(const unsigned char *s, size_t len)
{
	const unsigned char *at = NULL;
	size_t local_len, label = 0, labels = 0;

	if (len > EMAIL_MAX_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '@') {
			if (at)
				return false;
			at = s + i;
		}
	}
	if (!at)
		return false;
	local_len = (size_t)(at - s);
	if (local_len < 1 || local_len > EMAIL_LOCAL_MAX_LEN)
		return false;
	if (s[0] == '.' || s[local_len - 1] == '.')
		return false;
	for (size_t i = 0; i < local_len; i++) {
		if (s[i] == '.') {
			if (s[i + 1] == '.')
				return false;
		} else if (!is_atext(s[i])) {
			return false;
		}
	}
	/* Domain: labels of letters, digits and inner hyphens. */
	for (const unsigned char *p = at + 1; p <= s + len; p++) {
		if (p == s + len || *p == '.') {
			if (label < 1 || label > EMAIL_LABEL_MAX_LEN)
				return false;
			if (p[-1] == '-' || p[-(ptrdiff_t)label] == '-')
				return false;
			labels++;
			label = 0;
			continue;
		}
		if (!is_alnum(*p) && *p != '-')
			return false;
		label++;
	}
	return labels >= 2;
}

static void check_email_implied(const unsigned char *s, size_t len)
{
	const unsigned char *at = memchr(s, '@', len);
	size_t local_len, label = 0, labels = 0;

	CHECK(len <= EMAIL_MAX_LEN);
	CHECK(utf8_valid((const char *)s, len));
	CHECK(memchr(s, '\0', len) == NULL);
	CHECK(at != NULL);
	CHECK(memchr(at + 1, '@', len - (size_t)(at - s) - 1) == NULL);
	local_len = (size_t)(at - s);
	CHECK(local_len >= 1 && local_len <= EMAIL_LOCAL_MAX_LEN);
	CHECK(s[0] != '.' && s[local_len - 1] != '.');
	for (size_t i = 0; i + 1 < local_len; i++)
		CHECK(!(s[i] == '.' && s[i + 1] == '.'));
	for (size_t i = 0; i < len; i++)
		CHECK(s[i] >= 0x21 && s[i] != 0x7f);
	for (const unsigned char *p = at + 1; p <= s + len; p++) {
		if (p == s + len || *p == '.') {
			CHECK(label >= 1 && label <= EMAIL_LABEL_MAX_LEN);
			CHECK(p[-1] != '-' && p[-(ptrdiff_t)label] != '-');
			labels++;
			label = 0;
			continue;
		}
		label++;
	}
	CHECK(labels >= 2);
}

static void check_fold(const unsigned char *s, size_t len)
{
	char *a = malloc(len + 1), *b = malloc(len + 1);

	CHECK(a && b);
	email_fold((const char *)s, len, a);
	CHECK(a[len] == '\0');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = s[i];

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		CHECK((unsigned char)a[i] == c);
	}
	email_fold(a, len, b);
	CHECK(memcmp(a, b, len + 1) == 0);
	CHECK(email_valid((const char *)s, len) == email_valid(a, len));
	free(a);
	free(b);
}

static void check_all(const unsigned char *s, size_t len)
{
	bool ascii = true, valid_utf8;

	for (size_t i = 0; i < len; i++)
		if (s[i] >= 0x80)
			ascii = false;

	valid_utf8 = utf8_valid((const char *)s, len);
	if (valid_utf8 != ref_utf8_valid(s, len))
		fprintf(stderr, "fuzz_email: utf8_valid says %d, reference %d\n",
			valid_utf8, !valid_utf8);
	CHECK(valid_utf8 == ref_utf8_valid(s, len));
	if (ascii)
		CHECK(valid_utf8);
	{
		size_t n = utf8_length((const char *)s, len); /* any bytes: no crash */

		if (valid_utf8) {
			size_t want = 0;

			for (size_t i = 0; i < len; i++)
				if ((s[i] & 0xc0) != 0x80)
					want++;
			CHECK(n == want);
			CHECK(n <= len);
		}
	}

	if (email_valid((const char *)s, len))
		check_email_implied(s, len);
	if (ascii) {
		bool got = email_valid((const char *)s, len);
		bool want = ref_email_valid_ascii(s, len);

		if (got != want)
			fprintf(stderr, "fuzz_email: email_valid says %d, rule says %d\n",
				got, want);
		CHECK(got == want);
	}
	check_fold(s, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	const char *t, *t2;
	size_t tlen, tlen2;
	unsigned char *copy;

	/* str_trim: a sub-range, only white space cut off, idempotent. */
	t = str_trim(s, size, &tlen);
	CHECK(tlen <= size);
	if (tlen > 0) {
		CHECK(t >= s && t + tlen <= s + size);
		CHECK(!is_space((unsigned char)t[0]));
		CHECK(!is_space((unsigned char)t[tlen - 1]));
		for (const char *p = s; p < t; p++)
			CHECK(is_space((unsigned char)*p));
		for (const char *p = t + tlen; p < s + size; p++)
			CHECK(is_space((unsigned char)*p));
		t2 = str_trim(t, tlen, &tlen2);
		CHECK(t2 == t && tlen2 == tlen);
	} else {
		for (size_t i = 0; i < size; i++)
			CHECK(is_space(data[i]));
	}

	/* The raw input, then the trimmed part in a buffer of its exact size. */
	check_all(data, size);
	copy = malloc(tlen ? tlen : 1);
	CHECK(copy != NULL);
	if (tlen)
		memcpy(copy, t, tlen);
	check_all(copy, tlen);
	free(copy);
	return 0;
}
