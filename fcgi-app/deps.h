/* deps.h - what a cached answer depends on, and what a write retires.
 *
 * Each organization has one Redis hash of counters, g2:<org>; a field is
 * one thing writes can change:
 *
 *   o      everything of the organization (erasure, field deletion, a
 *          write whose outcome was lost, a set too large to name)
 *   x      any contact (every contact write bumps it)
 *   t      the tail of the listings (a create: pages that reach the end)
 *   m<n>   the email look-ups whose key falls in bucket n (DEPS_EMAIL_BUCKETS;
 *          e<n> named 4096 buckets in the layout before c6)
 *   b<n>   the contacts at positions n * 256 to n * 256 + 255: a quarter of
 *          a block of contact_blocks, so that an update retires little
 *          more than the one page of 1000 it is on
 *   s<n>   node n of a Fenwick tree over the blocks: a change of which
 *          contacts are live in block k bumps the nodes on k's update path,
 *          and a live page that ends in block m depends on the nodes on
 *          m's query path; the two paths share a node exactly when k <= m
 *   l<n>   the member pages of the lists that fall in bucket n
 *
 * A cached answer names the fields it depends on with the counters it saw
 * before reading PostgreSQL, and is a hit only while all of them are
 * unchanged; a write bumps, after its commit, at least one field of every
 * answer it changes.  docs/caching.md has the rules and the argument.
 * The number of fields is bounded by the size of the organization, not by
 * its history: 3 + 65536 + 1024 + five per block of 1024.  Pure.
 */
#ifndef CONTACTS_DEPS_H
#define CONTACTS_DEPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DEPS_MAX 64
#define DEPS_NAME_MAX 12       /* "s16777216" and its NUL fit */
/* 65536: with 10,000 hot emails an update retires 0.15 hot look-ups, not
 * the 2.4 of 4096 buckets (docs/performance.md, M1). */
#define DEPS_EMAIL_BUCKETS 65536
#define DEPS_LIST_BUCKETS 1024
#define DEPS_BLOCK_SHIFT 10    /* contact_blocks' blocks (schema/003) */
#define DEPS_PART_SHIFT 8      /* the parts of b<n> */
#define DEPS_TREE_SIZE (1 << 24) /* blocks the Fenwick tree covers */

/* A set of fields, each once, in the order first added.  When more than
 * DEPS_MAX are added it overflows: the set then stands for "o" alone (a
 * write retires everything; a reader depends on what deps_read_overflow()
 * says). */
struct deps {
	int n;
	bool overflow;
	char name[DEPS_MAX][DEPS_NAME_MAX];
};

void deps_init(struct deps *d);
void deps_add(struct deps *d, const char *name);
/* Adds every field of src. */
void deps_merge(struct deps *d, const struct deps *src);
bool deps_has(const struct deps *d, const char *name);

void deps_everything(struct deps *d);             /* o */
void deps_any_contact(struct deps *d);            /* x */
void deps_tail(struct deps *d);                   /* t */
/* The bucket of an email key (the folded email, as PostgreSQL's
 * email_key() gives it).  A key with a byte outside ASCII also adds x:
 * PostgreSQL folds such keys beyond ASCII (ICU), so two keys this worker
 * tells apart may name one contact. */
void deps_email(struct deps *d, const char *key, size_t len);
void deps_block(struct deps *d, int64_t pos);     /* b<pos's part> */
/* A change of which contacts are live at pos: its update path. */
void deps_liveness_changed(struct deps *d, int64_t pos);
/* A live page whose last row is at pos (pos < 0: it reaches the end of
 * the listing): its query path. */
void deps_live_prefix(struct deps *d, int64_t pos);
void deps_list(struct deps *d, const char *list_id);
/* FNV-1a, 32 bits, of s[0..len): what the buckets are made of. */
uint32_t deps_hash(const char *s, size_t len);

#endif
