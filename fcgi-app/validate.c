/* validate.c - pure checks on request text: emails, UTF-8, trimming.
 *
 * Every function reads exactly s[0..len) and nothing else: inputs are
 * arbitrary bytes (NULs included) and are never assumed NUL-terminated.
 */
#include "validate.h"

#include <string.h>

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

static bool is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* RFC 5322 atext (ASCII part), plus bytes >= 0x80 (RFC 6531 UTF8-non-ascii;
 * whether they form valid UTF-8 is checked separately). */
static bool is_atext(unsigned char c)
{
	if (is_alpha(c) || is_digit(c) || c >= 0x80)
		return true;
	switch (c) {
	case '!': case '#': case '$': case '%': case '&': case '\'':
	case '*': case '+': case '-': case '/': case '=': case '?':
	case '^': case '_': case '`': case '{': case '|': case '}':
	case '~':
		return true;
	default:
		return false;
	}
}

/* A domain label character other than '-': letters, digits, >= 0x80. */
static bool is_label_alnum(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || c >= 0x80;
}

const char *str_trim(const char *s, size_t len, size_t *out_len)
{
	size_t start = 0, end = len;

	if (!s) { /* NULL with len 0: no arithmetic on a null pointer */
		*out_len = 0;
		return s;
	}
	while (start < end && is_space((unsigned char)s[start]))
		start++;
	while (end > start && is_space((unsigned char)s[end - 1]))
		end--;
	*out_len = end - start;
	return s + start;
}

/* 1-64 bytes of atext, dots neither first, last nor doubled. */
static bool local_part_valid(const unsigned char *s, size_t len)
{
	if (len < 1 || len > EMAIL_LOCAL_MAX_LEN)
		return false;
	if (s[0] == '.' || s[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (s[i + 1] == '.') /* i + 1 < len: s[len - 1] != '.' */
				return false;
		} else if (!is_atext(s[i])) {
			return false;
		}
	}
	return true;
}

/* 1-63 bytes of letters, digits and hyphens, not starting or ending with
 * a hyphen. */
static bool label_valid(const unsigned char *s, size_t len)
{
	if (len < 1 || len > EMAIL_LABEL_MAX_LEN)
		return false;
	if (s[0] == '-' || s[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] != '-' && !is_label_alnum(s[i]))
			return false;
	return true;
}

/* At least two dot-separated valid labels. */
static bool domain_valid(const unsigned char *s, size_t len)
{
	size_t start = 0, labels = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '.')
			continue;
		if (!label_valid(s + start, i - start))
			return false;
		labels++;
		start = i + 1;
	}
	return labels >= 2;
}

bool email_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	const unsigned char *at;
	size_t local_len;

	if (len == 0 || len > EMAIL_MAX_LEN)
		return false;
	at = memchr(s, '@', len);
	if (!at)
		return false;
	local_len = (size_t)(at - s);
	if (memchr(at + 1, '@', len - local_len - 1))
		return false;
	/* NUL, white space and the rest of ASCII outside atext fail below. */
	if (!local_part_valid(s, local_len))
		return false;
	if (!domain_valid(at + 1, len - local_len - 1))
		return false;
	return utf8_valid(str, len);
}

void email_fold(const char *s, size_t len, char *out)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		out[i] = (char)c;
	}
	out[len] = '\0';
}

/* Length of the sequence a lead byte starts (1-4), with the range its
 * second byte must fall in; 0 for a byte that cannot start one.  Table 3-7
 * of the Unicode standard: this excludes overlongs (C0, C1, E0 80-9F,
 * F0 80-8F), surrogates (ED A0-BF) and code points above U+10FFFF (F4 90-BF,
 * F5-FF). */
static size_t utf8_lead(unsigned char c, unsigned char *lo, unsigned char *hi)
{
	*lo = 0x80;
	*hi = 0xbf;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return 2;
	if (c == 0xe0) {
		*lo = 0xa0;
		return 3;
	}
	if (c == 0xed) {
		*hi = 0x9f;
		return 3;
	}
	if (c >= 0xe1 && c <= 0xef)
		return 3;
	if (c == 0xf0) {
		*lo = 0x90;
		return 4;
	}
	if (c >= 0xf1 && c <= 0xf3)
		return 4;
	if (c == 0xf4) {
		*hi = 0x8f;
		return 4;
	}
	return 0;
}

bool utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		unsigned char lo, hi;
		size_t n;

		if (s[i] < 0x80) { /* the common case */
			i++;
			continue;
		}
		n = utf8_lead(s[i], &lo, &hi);
		if (n == 0 || len - i < n)
			return false;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (size_t k = 2; k < n; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				return false;
		i += n;
	}
	return true;
}

/* Counts bytes that are not continuation bytes (10xxxxxx): the number of
 * code points for well-formed text, a harmless over- or under-count for
 * anything else. */
size_t utf8_length(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}
