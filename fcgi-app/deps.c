/* deps.c - naming the fields of an organization's counters (deps.h). */
#include "deps.h"

#include <stdio.h>
#include <string.h>

void deps_init(struct deps *d)
{
	d->n = 0;
	d->overflow = false;
}

bool deps_has(const struct deps *d, const char *name)
{
	for (int i = 0; i < d->n; i++)
		if (strcmp(d->name[i], name) == 0)
			return true;
	return false;
}

void deps_add(struct deps *d, const char *name)
{
	if (d->overflow || deps_has(d, name))
		return;
	if (d->n == DEPS_MAX || strlen(name) >= DEPS_NAME_MAX) {
		d->overflow = true;
		return;
	}
	snprintf(d->name[d->n++], DEPS_NAME_MAX, "%s", name);
}

void deps_merge(struct deps *d, const struct deps *src)
{
	if (src->overflow)
		d->overflow = true;
	for (int i = 0; i < src->n; i++)
		deps_add(d, src->name[i]);
}

static void add_numbered(struct deps *d, char kind, uint64_t n)
{
	char name[DEPS_NAME_MAX + 8];

	snprintf(name, sizeof(name), "%c%llu", kind, (unsigned long long)n);
	deps_add(d, name);
}

void deps_everything(struct deps *d)
{
	deps_add(d, "o");
}

void deps_any_contact(struct deps *d)
{
	deps_add(d, "x");
}

void deps_tail(struct deps *d)
{
	deps_add(d, "t");
}

/* FNV-1a, 32 bits: buckets only need to spread, not to resist anyone
 * (a client who crowds one bucket only costs itself hits). */
uint32_t deps_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

void deps_email(struct deps *d, const char *key, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)key[i] >= 0x80) {
			deps_any_contact(d);
			break;
		}
	add_numbered(d, 'm', deps_hash(key, len) % DEPS_EMAIL_BUCKETS);
}

/* The tree's index of a position's block, 1-based; 0 when the block is
 * past what the tree covers (a caller then names something coarser). */
static uint64_t tree_index(int64_t pos)
{
	uint64_t b;

	if (pos < 0)
		return 0;
	b = ((uint64_t)pos >> DEPS_BLOCK_SHIFT) + 1;
	return b <= DEPS_TREE_SIZE ? b : 0;
}

void deps_block(struct deps *d, int64_t pos)
{
	if (pos < 0 || tree_index(pos) == 0) {
		deps_any_contact(d);
		return;
	}
	add_numbered(d, 'b', (uint64_t)pos >> DEPS_PART_SHIFT);
}

void deps_liveness_changed(struct deps *d, int64_t pos)
{
	uint64_t i = tree_index(pos);

	if (i == 0) {
		/* Past the tree: the root covers every live page. */
		add_numbered(d, 's', DEPS_TREE_SIZE);
		return;
	}
	for (; i <= DEPS_TREE_SIZE; i += i & -i)
		add_numbered(d, 's', i);
}

void deps_live_prefix(struct deps *d, int64_t pos)
{
	uint64_t i = pos < 0 ? 0 : tree_index(pos);

	if (i == 0)
		i = DEPS_TREE_SIZE; /* to the end: the root */
	for (; i > 0; i -= i & -i)
		add_numbered(d, 's', i);
}

void deps_list(struct deps *d, const char *list_id)
{
	add_numbered(d, 'l', deps_hash(list_id, strlen(list_id)) % DEPS_LIST_BUCKETS);
}
