/*
 * compact.h - the log cleaner's internals: the key map (compact_map.c),
 * rewriting one segment (compact_seg.c), swapping it in crash-safely and
 * recovering after a crash (compact_swap.c), and the passes over a
 * partition (compact.c).  format-spec/compaction.md
 * describes the rules and the files.
 */
#ifndef MQ_COMPACT_H
#define MQ_COMPACT_H

#include <stddef.h>
#include <stdint.h>

#include "mq.h"

/* Files of the cleaner in a partition directory. */
#define MQ_CHECKPOINT_FILE "mq.cleaner-checkpoint"
#define MQ_CLEANER_LOCK_FILE "mq.cleaner.lock"

/*
 * mq_gaps_allowed says whether offsets may skip between the batches of a
 * segment of partition directory DIR (format-spec/segments.md): yes when
 * cfg's cleanup.policy includes compact, or when the partition was ever
 * compacted (its DIR/mq.cleaner-checkpoint exists, which mq_compact writes
 * before it swaps in the first rewritten segment), or when the directory
 * was copied from a Kafka broker (it holds leader-epoch-checkpoint or
 * partition.metadata, which mq never writes: the broker's cleanup.policy
 * is unknown, and Kafka may have compacted it).  Otherwise offsets are
 * contiguous and a gap is corruption.  It cannot fail: a directory that
 * cannot be examined counts as never compacted.
 */
int mq_gaps_allowed(const mq_config *cfg, const char *dir);

/* Suffixes of a segment being rewritten (after the 20-digit base). */
#define MQ_CLEANED_LOG ".log.cleaned"
#define MQ_CLEANED_INDEX ".index.cleaned"
#define MQ_CLEANED_TIMEINDEX ".timeindex.cleaned"
#define MQ_SWAP_LOG ".log.swap"

/* ------------------------------------------------------------------ */
/* The key map.                                                        */

/* A 128-bit hash of a record key; never all zero. */
typedef struct mq_keyhash {
	uint64_t a, b;
} mq_keyhash;

/* One slot: the key's hash and the offset of its latest record plus 1
 * (0 marks an empty slot, so a zeroed table is empty). */
typedef struct mq_keyslot {
	uint64_t a, b;
	int64_t off1;
} mq_keyslot;

#define MQ_KEYMAP_SLOT ((size_t)sizeof(mq_keyslot)) /* 24 bytes */

/*
 * An open-addressing hash table (linear probing) from key hash to the
 * highest offset seen for it.  It starts small and doubles while the old
 * and the new table together fit max_bytes; at the largest size it
 * accepts new keys until 90% of its slots are used and is then full.
 */
typedef struct mq_keymap {
	mq_keyslot *slots;
	size_t nslots, used;
	size_t max_slots;    /* max_bytes / MQ_KEYMAP_SLOT */
	size_t limit;        /* used may not pass this without growing */
} mq_keymap;

/* mq_key_hash computes the 128-bit hash of len bytes of key. */
void mq_key_hash(const void *key, size_t len, mq_keyhash *out);

/*
 * mq_keymap_init prepares an empty map that never uses more than
 * max_bytes (at least two slots are always allowed).  MQ_ENOMEM on failure.
 */
int mq_keymap_init(mq_keymap *m, size_t max_bytes);

/* mq_keymap_clear empties the map and keeps its table. */
void mq_keymap_clear(mq_keymap *m);

/* mq_keymap_free frees the table.  It cannot fail. */
void mq_keymap_free(mq_keymap *m);

/*
 * mq_keymap_put records offset as the latest for hash h (the higher of the
 * stored and the new offset wins).  Returns 1 when stored, 0 when h is a
 * new key and the map is full (nothing changes), MQ_ENOMEM if growing
 * failed.
 */
int mq_keymap_put(mq_keymap *m, const mq_keyhash *h, int64_t offset);

/* mq_keymap_get returns the offset stored for h, or -1 if there is none. */
int64_t mq_keymap_get(const mq_keymap *m, const mq_keyhash *h);

/* ------------------------------------------------------------------ */
/* Rewriting one segment.                                              */

/* What decides which records of a segment survive a pass. */
struct mq_clean_rule {
	const mq_keymap *map;    /* latest offsets of the pass's dirty range */
	int64_t end;             /* records at or above are kept as they are */
	int64_t tomb_before;     /* tombstones older than this go (ms) */
	uint8_t *gone;           /* dry run: offsets dropped by earlier passes */
	int64_t gone_base, gone_len;
	int record_gone;         /* dry run: mark what this pass drops */
};

/* What rewriting one segment did, or would do. */
struct mq_clean_seg {
	uint64_t ino;            /* inode of the .log that was read */
	int64_t records_in, records_out;
	uint64_t bytes_in, bytes_out;
	int changed;             /* a record was dropped: .cleaned written */
};

/*
 * mq_clean_segment reads segment BASE of DIR, applies rule to every record
 * and, when at least one record is dropped and dry_run is 0, writes the
 * survivors to BASE.log.cleaned with regenerated BASE.index.cleaned and
 * BASE.timeindex.cleaned (index.interval.bytes index_interval), all
 * fsynced.  Offsets, timestamps, keys, values, headers and each batch's
 * codec are kept.  A missing segment (deleted meanwhile) gives an
 * unchanged, empty result.  MQ_ECORRUPT for a damaged batch (nothing is
 * left behind), MQ_EIO, MQ_ENOMEM.
 */
int mq_clean_segment(const char *dir, int64_t base, int32_t index_interval,
                     const struct mq_clean_rule *rule, int dry_run,
                     struct mq_clean_seg *out);

/*
 * mq_clean_swap puts the .cleaned files of segment BASE in place of the
 * segment, whose .log must still be inode ino (else the .cleaned files are
 * discarded and 0 is returned: retention removed or replaced it).  Must be
 * called with the partition writer lock held.  Returns 1 when swapped,
 * 0 when discarded, MQ_EIO.
 */
int mq_clean_swap(const char *dir, int64_t base, uint64_t ino);

/*
 * mq_clean_discard removes the .cleaned files of segment BASE, indexes
 * first, so that a crash halfway never leaves an index .cleaned file
 * without its .log.cleaned.  Errors are ignored.
 */
void mq_clean_discard(const char *dir, int64_t base);

/*
 * mq_clean_recover finishes or rolls back every swap a crashed cleaner
 * left in DIR, per the rules in format-spec/compaction.md.  Must be called
 * with the cleaner lock and the writer lock held.  MQ_EIO on failure.
 */
int mq_clean_recover(const char *dir);

/*
 * mq_compact_hook, when set (by tests only), is called at each numbered
 * step of writing and swapping a segment, so a test can stop the process
 * there and check that the partition still reads correctly:
 *   1 BASE.log.cleaned written and fsynced
 *   2 index .cleaned files written
 *   3 BASE.log.cleaned renamed to BASE.log.swap (the commit point)
 *   4 old BASE.index and BASE.timeindex removed
 *   5 BASE.log.swap renamed to BASE.log
 *   6 BASE.index.cleaned renamed to BASE.index
 *   7 BASE.timeindex.cleaned renamed to BASE.timeindex
 *   8 a pass is done; the cleaner checkpoint is about to be written
 */
extern void (*mq_compact_hook)(int step);

static inline void mq_compact_step(int step)
{
	if (mq_compact_hook)
		mq_compact_hook(step);
}

#endif
