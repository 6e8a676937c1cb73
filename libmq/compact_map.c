/*
 * compact_map.c - the cleaner's key map: a 128-bit hash of each key and
 * the offset of its latest record, never the key itself, in a table whose
 * size is capped.
 *
 * Two keys are the same key to the cleaner when all 128 bits of their
 * hashes match.  The table slot is chosen from the first 64 bits, so keys
 * that only share a slot cost a longer probe and nothing else.
 */
#include <stdlib.h>
#include <string.h>

#include "compact.h"
#include "error.h"

#define INITIAL_SLOTS 4096

/* Multipliers: odd 64-bit constants with well-spread bits. */
#define K1 0x9e3779b97f4a7c15ull
#define K2 0xc2b2ae3d27d4eb4full
#define K3 0x165667b19e3779f9ull
#define K4 0xd6e8feb86659fd93ull

/* fmix scrambles all 64 bits of x into each other (an avalanche step). */
static inline uint64_t fmix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

void mq_key_hash(const void *key, size_t len, mq_keyhash *out)
{
	const uint8_t *p = key;
	uint64_t a = K1 ^ ((uint64_t)len * K4);
	uint64_t b = K2 ^ ((uint64_t)len * K3);
	size_t n = len;

	/* Two lanes fed the same words through different mixes. */
	while (n >= 8) {
		uint64_t w = load64(p);
		a = (a ^ fmix(w ^ K3)) * K1;
		a = (a << 29) | (a >> 35);
		b = (b ^ fmix(w + K4)) * K2;
		b = (b << 37) | (b >> 27);
		p += 8;
		n -= 8;
	}
	uint64_t w = 0;
	for (size_t i = 0; i < n; i++)
		w |= (uint64_t)p[i] << (8 * i);
	w ^= (uint64_t)n << 56;
	a = fmix((a ^ fmix(w ^ K3)) * K1 + b);
	b = fmix((b ^ fmix(w + K4)) * K2 + a);
	if (a == 0 && b == 0)
		a = 1;
	out->a = a;
	out->b = b;
}

/* slot_of maps the first hash word onto [0, n) without a division. */
static inline size_t slot_of(uint64_t a, size_t n)
{
	return (size_t)(((unsigned __int128)a * n) >> 64);
}

/* can_grow says whether a larger table still fits beside this one. */
static inline int can_grow(const mq_keymap *m)
{
	return m->max_slots - m->nslots > m->nslots;
}

/*
 * set_limit keeps a growable table at most 3/4 full and the final one at
 * most 9/10 full, and always leaves one slot empty so probes end.
 */
static void set_limit(mq_keymap *m)
{
	m->limit = can_grow(m) ? m->nslots * 3 / 4 : m->nslots * 9 / 10;
	if (m->limit >= m->nslots)
		m->limit = m->nslots - 1;
	if (m->limit == 0)
		m->limit = 1;
}

int mq_keymap_init(mq_keymap *m, size_t max_bytes)
{
	memset(m, 0, sizeof *m);
	m->max_slots = max_bytes / MQ_KEYMAP_SLOT;
	if (m->max_slots < 2)
		m->max_slots = 2;
	m->nslots = m->max_slots < INITIAL_SLOTS ? m->max_slots : INITIAL_SLOTS;
	m->slots = calloc(m->nslots, sizeof *m->slots);
	if (!m->slots)
		return mq_fail(MQ_ENOMEM, "cannot allocate the key map");
	set_limit(m);
	return MQ_OK;
}

void mq_keymap_clear(mq_keymap *m)
{
	memset(m->slots, 0, m->nslots * sizeof *m->slots);
	m->used = 0;
}

void mq_keymap_free(mq_keymap *m)
{
	free(m->slots);
	memset(m, 0, sizeof *m);
}

/* find returns the slot holding h, or the empty slot where it belongs. */
static inline mq_keyslot *find(mq_keyslot *t, size_t n, uint64_t a, uint64_t b)
{
	size_t i = slot_of(a, n);
	for (;;) {
		mq_keyslot *s = &t[i];
		if (s->off1 == 0 || (s->a == a && s->b == b))
			return s;
		if (++i == n)
			i = 0;
	}
}

/*
 * grow doubles the table, or at the end makes it as large as max_slots
 * allows while the old table still exists.  Returns 1, 0 if it cannot
 * grow, or MQ_ENOMEM.
 */
static int grow(mq_keymap *m)
{
	if (!can_grow(m))
		return 0;
	size_t n = m->max_slots - m->nslots;
	if (n > m->nslots * 2)
		n = m->nslots * 2;
	mq_keyslot *t = calloc(n, sizeof *t);
	if (!t)
		return mq_fail(MQ_ENOMEM, "cannot grow the key map to %zu "
		               "slots", n);
	for (size_t i = 0; i < m->nslots; i++) {
		mq_keyslot *s = &m->slots[i];
		if (s->off1)
			*find(t, n, s->a, s->b) = *s;
	}
	free(m->slots);
	m->slots = t;
	m->nslots = n;
	set_limit(m);
	return 1;
}

int mq_keymap_put(mq_keymap *m, const mq_keyhash *h, int64_t offset)
{
	mq_keyslot *s = find(m->slots, m->nslots, h->a, h->b);
	if (s->off1) {
		if (offset + 1 > s->off1)
			s->off1 = offset + 1;
		return 1;
	}
	if (m->used + 1 > m->limit) {
		int rc = grow(m);
		if (rc <= 0)
			return rc;
		s = find(m->slots, m->nslots, h->a, h->b);
	}
	s->a = h->a;
	s->b = h->b;
	s->off1 = offset + 1;
	m->used++;
	return 1;
}

int64_t mq_keymap_get(const mq_keymap *m, const mq_keyhash *h)
{
	mq_keyslot *s = find(m->slots, m->nslots, h->a, h->b);
	return s->off1 - 1;
}
