/* test_sha256.c - SHA-256 against the FIPS 180-4 / NIST vectors, and
 * ct_equal(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"

static void to_hex(const uint8_t d[SHA256_LEN], char out[2 * SHA256_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < SHA256_LEN; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[2 * SHA256_LEN] = '\0';
}

static void assert_sha256(const void *data, size_t len, const char *want)
{
	uint8_t d[SHA256_LEN];
	char hex[2 * SHA256_LEN + 1];

	sha256(data, len, d);
	to_hex(d, hex);
	assert_string_equal(hex, want);
}

/* FIPS 180-4 examples (NIST CSRC "SHA256.pdf") and the NIST SHAVS short
 * and long messages. */
static const struct {
	const char *msg;
	const char *digest;
} nist[] = {
	{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	/* 448 bits: the padding needs a second block. */
	{"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
	/* 896 bits. */
	{"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
	 "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
	 "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
};

static void test_nist(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(nist) / sizeof(nist[0]); i++)
		assert_sha256(nist[i].msg, strlen(nist[i].msg), nist[i].digest);
	assert_sha256(NULL, 0, nist[0].digest);
}

static void test_million_a(void **state)
{
	size_t n = 1000000;
	char *m = malloc(n);

	(void)state;
	assert_non_null(m);
	memset(m, 'a', n);
	assert_sha256(m, n, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(m);
}

/* Lengths around the block and padding boundaries; bytes (i * 7 + 3) & 0xff.
 * Digests from Python's hashlib. */
static const struct {
	size_t len;
	const char *digest;
} edges[] = {
	{1, "084fed08b978af4d7d196a7446a86b58009e636b611db16211b65a9aadff29c5"},
	{55, "e7313d333c272e639f790978283f9eb392e843d0f29b7016828bb1daa4aac70b"},
	{56, "4324d65f3c103567f5589c710bc08f8523f929a9272e3af36fc968e52abc6c27"},
	{57, "35df609437dcfea3279283ab79fd554e2bf78f8f7ae2de532d8ee300b09e8f73"},
	{63, "81c80242132f230c3bd41b3e63bbcff16107339549214a99614ff26664625055"},
	{64, "39e3d7b6b5d075d37d053ad89b24b41bef4f3c29760c84447cab3f3be1882241"},
	{65, "aacca6ff74fdbb296d165a45cecfa04e5127bc008770fbbdd48006f2d2fae95e"},
	{119, "9ce7368e4daf32341631b492e80359dc9f594b48453cd0dd5bf0b19279cc177e"},
	{120, "7836b787757e95e58b3ca5aec90b1b004e8deba1e50e9675af9cabf1a13a04b5"},
	{127, "a8d23e75d936f303d248888d9b165ee543f4cbafcad3c9dd2a79bd84faa11d07"},
	{128, "d2742f1f4ac6bb7ca2b239ee18402ba8b3f9f8e652d2a72973c2b9ba11c08cf6"},
	{129, "307f8fc2c1622b92762e818d39a185d4d667ad49a4b07ceae1f4afa008a93ec4"},
	{1000, "1e9bc38cbf860b9ec31918b065f9b52476c549a782e0e7990bed8ce3868d2371"},
};

static void test_padding_edges(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		size_t n = edges[i].len;
		uint8_t *m = malloc(n); /* exact size: ASan sees any overread */

		assert_non_null(m);
		for (size_t k = 0; k < n; k++)
			m[k] = (uint8_t)((k * 7 + 3) & 0xff);
		assert_sha256(m, n, edges[i].digest);
		free(m);
	}
	/* NUL bytes are data like any other. */
	assert_sha256("\0\0\0", 3,
		      "709e80c88487a2411e1ee4dfb9f22a861492d20c4765150c0c794abd70f8147c");
}

static void test_unaligned(void **state)
{
	char buf[128];
	uint8_t a[SHA256_LEN], b[SHA256_LEN];
	const char *msg = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

	(void)state;
	for (size_t off = 1; off < 8; off++) {
		memcpy(buf + off, msg, strlen(msg));
		sha256(buf + off, strlen(msg), a);
		sha256(msg, strlen(msg), b);
		assert_memory_equal(a, b, SHA256_LEN);
	}
}

static void test_ct_equal(void **state)
{
	uint8_t a[SHA256_LEN], b[SHA256_LEN];

	(void)state;
	sha256("key", 3, a);
	memcpy(b, a, sizeof(b));
	assert_int_equal(ct_equal(a, b, SHA256_LEN), 1);
	assert_int_equal(ct_equal(a, a, SHA256_LEN), 1);
	/* Any single bit flipped anywhere. */
	for (size_t i = 0; i < SHA256_LEN; i++) {
		for (int bit = 0; bit < 8; bit++) {
			b[i] ^= (uint8_t)(1u << bit);
			assert_int_equal(ct_equal(a, b, SHA256_LEN), 0);
			assert_int_equal(ct_equal(b, a, SHA256_LEN), 0);
			b[i] ^= (uint8_t)(1u << bit);
		}
	}
	assert_int_equal(ct_equal(a, b, SHA256_LEN), 1);
	/* Only len bytes count. */
	assert_int_equal(ct_equal("abcX", "abcY", 3), 1);
	assert_int_equal(ct_equal("abcX", "abcY", 4), 0);
	assert_int_equal(ct_equal("\x00", "\x80", 1), 0);
	assert_int_equal(ct_equal("\xff", "\x00", 1), 0);
	assert_int_equal(ct_equal("x", "y", 0), 1);
	assert_int_equal(ct_equal(NULL, NULL, 0), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nist),
		cmocka_unit_test(test_million_a),
		cmocka_unit_test(test_padding_edges),
		cmocka_unit_test(test_unaligned),
		cmocka_unit_test(test_ct_equal),
	};

	return cmocka_run_group_tests_name("sha256", tests, NULL, NULL);
}
