/*
 * mq.h - the public interface of libmq, Kafka's commit log as files.
 *
 * A data directory holds topics; a topic holds N partitions; a partition is
 * a directory laid out exactly as Apache Kafka lays out one (TOPIC-N/ with
 * 20-digit segment files .log, .index and .timeindex).  See mq-format(5) and
 * format-spec/ for the bytes.
 *
 * Conventions that hold for every function below unless its comment says
 * otherwise:
 *
 *  - Functions return 0 (MQ_OK) on success or a negative MQ_E* code.  When
 *    the cause is a failed system call the code is MQ_EIO and errno is left
 *    as the system call set it.  mq_errmsg() returns a one-line description
 *    of the most recent failure in the calling thread, naming the object
 *    (topic, partition, file, offset) and the cause.  libmq never prints and
 *    never exits.
 *  - Handles (mq_env, mq_topic, mq_reader, mq_batch) are owned by the caller
 *    from the moment a function hands them out until the matching close or
 *    free call.  A handle may be used by one thread at a time.
 *  - Pointers inside an mq_record returned by a reader point into the
 *    reader's buffers; they stay valid until the next call on that reader.
 *  - Several processes may use one data directory at once.  Writers of a
 *    partition are serialised by flock(2) on the partition's lock file, held
 *    for one append; readers take no lock.
 */
#ifndef MQ_H
#define MQ_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MQ_VERSION "0.1.0"

/* Error codes.  Every failure is one of these; 0 is success. */
enum {
	MQ_OK = 0,
	MQ_EIO = -1,       /* a system call failed; errno holds its cause */
	MQ_ENOMEM = -2,    /* out of memory */
	MQ_EINVAL = -3,    /* an argument is out of range or malformed */
	MQ_ENOTOPIC = -4,  /* no such topic in the data directory */
	MQ_EEXIST = -5,    /* the topic already exists */
	MQ_EBADNAME = -6,  /* a topic or group name breaks Kafka's naming rule */
	MQ_ECONFIG = -7,   /* unknown config key or invalid value */
	MQ_EBUSY = -8,     /* a lock is held and MQ_NOWAIT was given */
	MQ_ECORRUPT = -9,  /* stored data fails a CRC or structural check */
	MQ_ECODEC = -10,   /* a batch uses a compression codec mq cannot decode */
	MQ_ETOOBIG = -11,  /* a record or batch exceeds max.message.bytes */
	MQ_ERANGE = -12,   /* no such partition, or an offset outside the log */
};

/*
 * mq_strerror returns a static, human-readable sentence for an MQ_E* code.
 * It never fails; unknown codes give "unknown error".
 */
const char *mq_strerror(int err);

/*
 * mq_errmsg returns the detailed message of the most recent failure in the
 * calling thread (for example "topic 'orders' partition 2: CRC mismatch in
 * batch at offset 1041 (00000000000000000000.log position 88231)").  The
 * string is owned by libmq and is overwritten by the next failure in the
 * same thread.  It is "" if nothing has failed yet.
 */
const char *mq_errmsg(void);

/* ------------------------------------------------------------------ */
/* Topic configuration (Kafka's key names and defaults).               */

enum { MQ_CLEANUP_DELETE = 1, MQ_CLEANUP_COMPACT = 2 };
enum { MQ_COMPRESSION_NONE = 0, MQ_COMPRESSION_GZIP = 1,
       MQ_COMPRESSION_SNAPPY = 2, MQ_COMPRESSION_LZ4 = 3,
       MQ_COMPRESSION_ZSTD = 4, MQ_COMPRESSION_PRODUCER = -1 };
enum { MQ_TS_CREATE = 0, MQ_TS_LOG_APPEND = 1 };

typedef struct mq_config {
	int32_t partitions;                /* partitions, default 1 */
	int64_t segment_bytes;             /* segment.bytes, 1073741824 */
	int64_t segment_ms;                /* segment.ms, 604800000 */
	int64_t retention_ms;              /* retention.ms, 604800000; -1 none */
	int64_t retention_bytes;           /* retention.bytes, -1 (none) */
	int cleanup_policy;                /* cleanup.policy, MQ_CLEANUP_* bits */
	int64_t delete_retention_ms;       /* delete.retention.ms, 86400000 */
	double min_cleanable_dirty_ratio;  /* min.cleanable.dirty.ratio, 0.5 */
	int64_t min_compaction_lag_ms;     /* min.compaction.lag.ms, 0 */
	int32_t max_message_bytes;         /* max.message.bytes, 1048588 */
	int compression_type;              /* compression.type, producer */
	int timestamp_type;                /* message.timestamp.type */
	int32_t index_interval_bytes;      /* index.interval.bytes, 4096 */
	int64_t flush_messages;            /* flush.messages, INT64_MAX */
	int64_t flush_ms;                  /* flush.ms, INT64_MAX */
} mq_config;

/* mq_config_defaults fills cfg with Kafka's defaults.  It cannot fail. */
void mq_config_defaults(mq_config *cfg);

/*
 * mq_config_set parses VALUE for the config key KEY (Kafka's name, e.g.
 * "retention.ms") and stores it in cfg.  Returns MQ_ECONFIG, naming the key
 * in mq_errmsg(), for an unknown key or an invalid value; cfg is unchanged
 * then.
 */
int mq_config_set(mq_config *cfg, const char *key, const char *value);

/*
 * mq_config_get writes the value of KEY in cfg, as it would appear in a
 * config file, to buf (NUL-terminated, truncated to len).  Returns
 * MQ_ECONFIG for an unknown key.
 */
int mq_config_get(const mq_config *cfg, const char *key, char *buf, size_t len);

/* mq_config_keys returns the NULL-terminated list of known keys (static). */
const char *const *mq_config_keys(void);

/* ------------------------------------------------------------------ */
/* Data directory.                                                     */

typedef struct mq_env mq_env;

enum { MQ_CREATE = 1 };

/*
 * mq_env_open opens the data directory DIR.  With MQ_CREATE in flags the
 * directory (and its parents) is created when missing.  Reads DIR/mq.conf,
 * if present, as the defaults for new topics; a malformed mq.conf is
 * MQ_ECONFIG.  On success *out is a new handle; on failure *out is NULL.
 */
int mq_env_open(const char *dir, int flags, mq_env **out);

/* mq_env_close frees the handle.  NULL is allowed. */
void mq_env_close(mq_env *env);

/* mq_env_path returns the directory path the handle was opened with. */
const char *mq_env_path(const mq_env *env);

/*
 * mq_env_defaults copies the defaults for new topics in this data directory
 * (Kafka's defaults overridden by mq.conf) to *cfg.
 */
void mq_env_defaults(const mq_env *env, mq_config *cfg);

/*
 * mq_topic_list returns the names of all topics in the data directory,
 * sorted, as a malloc'ed NULL-terminated array of malloc'ed strings that the
 * caller frees with mq_free_list().  Topics are those with a config file and
 * also bare Kafka partition directories (NAME-0, ...) copied in from Kafka.
 */
int mq_topic_list(mq_env *env, char ***names);

/* mq_free_list frees an array returned by mq_topic_list.  NULL is allowed. */
void mq_free_list(char **list);

/*
 * mq_name_valid returns 1 if NAME is a legal topic or group name under
 * Kafka's rule ([A-Za-z0-9._-], 1 to 249 characters, not "." or ".."), and
 * 0 otherwise.  Every function taking a name checks it with this before it
 * touches any file and fails with MQ_EBADNAME.
 */
int mq_name_valid(const char *name);

/* ------------------------------------------------------------------ */
/* Topics.                                                             */

typedef struct mq_topic mq_topic;

enum { MQ_IF_NOT_EXISTS = 1, MQ_NOWAIT = 2 };

/*
 * mq_topic_create creates topic NAME with the configuration cfg (NULL means
 * the data directory's defaults; cfg->partitions is the partition count).
 * The partition directories are created first and the config file is put in
 * place last, by rename, so a topic is either wholly there or not at all.
 * Fails with MQ_EEXIST if it exists, unless MQ_IF_NOT_EXISTS is in flags.
 */
int mq_topic_create(mq_env *env, const char *name, const mq_config *cfg,
                    int flags);

/*
 * mq_topic_alter replaces the configuration of topic NAME with cfg.  The
 * partition count may grow (new partition directories are created) but
 * never shrink (MQ_EINVAL).
 */
int mq_topic_alter(mq_env *env, const char *name, const mq_config *cfg);

/*
 * mq_topic_delete removes topic NAME: the config file first, then each
 * partition directory while holding that partition's writer lock, so no
 * append is cut in half.  With MQ_NOWAIT a held lock fails with MQ_EBUSY.
 */
int mq_topic_delete(mq_env *env, const char *name, int flags);

/*
 * mq_topic_open opens topic NAME for reading and appending.  MQ_ENOTOPIC if
 * it does not exist.  The handle caches the config read at open time.
 */
int mq_topic_open(mq_env *env, const char *name, mq_topic **out);

/*
 * mq_topic_close releases the handle and every file it holds open.  It does
 * not fsync: call mq_sync() first when durability matters.  NULL allowed.
 */
void mq_topic_close(mq_topic *t);

/* Accessors; they cannot fail. */
const char *mq_topic_name(const mq_topic *t);
int32_t mq_topic_partitions(const mq_topic *t);
const mq_config *mq_topic_config(const mq_topic *t);

/*
 * mq_partition_path writes the path of partition P's directory to buf.
 * Returns MQ_ERANGE for a partition the topic does not have and MQ_EINVAL if
 * buf is too small or the directory is a symbolic link (never followed).
 */
int mq_partition_path(const mq_topic *t, int32_t p, char *buf, size_t len);

/* ------------------------------------------------------------------ */
/* Records.                                                            */

typedef struct mq_header {
	const char *key;
	size_t key_len;
	const void *value;
	ssize_t value_len;       /* -1: null value */
} mq_header;

typedef struct mq_record {
	int64_t offset;          /* set by readers; ignored when appending */
	int64_t timestamp;       /* ms since the epoch; -1 when appending = now */
	int timestamp_type;      /* MQ_TS_*; set by readers */
	const void *key;
	ssize_t key_len;         /* -1: null key */
	const void *value;
	ssize_t value_len;       /* -1: null value (a tombstone) */
	const mq_header *headers;
	size_t header_count;
} mq_record;

/*
 * mq_partition_for_key returns Kafka's default partition for a keyed record:
 * toPositive(murmur2(key)) % partitions, as the Java client computes it.
 */
int32_t mq_partition_for_key(const void *key, size_t len, int32_t partitions);

/* mq_murmur2 is Kafka's murmur2 hash (seed 0x9747b28c) of len bytes. */
int32_t mq_murmur2(const void *data, size_t len);

/* ------------------------------------------------------------------ */
/* Appending.                                                          */

/*
 * An mq_batch collects records for one RecordBatch.  It owns copies of the
 * bytes added to it and reuses its buffers across mq_batch_reset(), so a
 * producer that reuses one batch does no allocation per record.
 */
typedef struct mq_batch mq_batch;

/*
 * mq_batch_new allocates an empty batch that will be written with the
 * given compression (MQ_COMPRESSION_NONE or MQ_COMPRESSION_GZIP; anything
 * else is MQ_ECODEC).
 */
int mq_batch_new(int compression, mq_batch **out);

/*
 * mq_batch_set_compression changes the compression the batch will be
 * written with; its records are kept.  A producer uses it to store a batch
 * uncompressed when compressing made it exceed max.message.bytes.  Fails
 * with MQ_ECODEC as mq_batch_new does, leaving the batch unchanged.
 */
int mq_batch_set_compression(mq_batch *b, int compression);

/* mq_batch_free frees the batch.  NULL is allowed. */
void mq_batch_free(mq_batch *b);

/*
 * mq_batch_add copies record r into the batch.  r->offset and
 * r->timestamp_type are ignored; r->timestamp -1 means "now".  Fails with
 * MQ_ENOMEM, or MQ_EINVAL for a batch already holding INT32_MAX records.
 */
int mq_batch_add(mq_batch *b, const mq_record *r);

/*
 * mq_batch_add_kv is mq_batch_add for a record of a key and a value alone
 * (no headers; key_len or value_len -1: null) with the given timestamp (-1:
 * now).  It copies the bytes, and fails as mq_batch_add does.  It saves
 * filling an mq_record for each record of a producer.
 */
int mq_batch_add_kv(mq_batch *b, const void *key, ssize_t key_len,
                    const void *value, ssize_t value_len, int64_t timestamp);

/* Number of records in the batch, and its uncompressed size in bytes
 * including the 61-byte batch header. */
size_t mq_batch_count(const mq_batch *b);
size_t mq_batch_bytes(const mq_batch *b);

/*
 * mq_record_bytes returns the size a batch holding only r would have
 * (uncompressed), which is what max.message.bytes limits.
 */
size_t mq_record_bytes(const mq_record *r);

/*
 * mq_batch_compress compresses the records added so far, per the batch's
 * compression, so that mq_append only has to checksum and write them: a
 * producer with several threads compresses before it takes its turn to
 * append, not during it.  Adding a record, mq_batch_reset and
 * mq_batch_set_compression discard the result (mq_append then compresses
 * as usual).  A no-op for an uncompressed or empty batch.  Returns MQ_OK,
 * MQ_ENOMEM, or MQ_ECODEC if the compressor fails; the records are kept
 * either way.
 */
int mq_batch_compress(mq_batch *b);

/* mq_batch_reset empties the batch and keeps its buffers. */
void mq_batch_reset(mq_batch *b);

/*
 * mq_batch_reserve makes room in the batch for bytes more bytes of
 * encoded records (as mq_batch_bytes counts them), so that adding them
 * does not allocate, and has the kernel back that memory with pages now
 * (Linux 5.14 and later; before, as it is first written): a producer that
 * knows how large its batches grow pays for the memory once, before it
 * fills them, instead of in steps as they grow.  The room stays across
 * mq_batch_reset.  Returns MQ_OK, or MQ_ENOMEM with the batch unchanged.
 */
int mq_batch_reserve(mq_batch *b, size_t bytes);

/*
 * mq_append writes batch b to partition P of topic t as one RecordBatch and
 * stores the offset of its first record in *base_offset (may be NULL).  The
 * batch is encoded (and compressed) before the partition lock is taken; the
 * lock is held only to check the tail, roll the segment if due, write the
 * batch and update the indexes.  Readers see the batch whole or not at all.
 * Between appends the handle keeps the partition's active segment and its
 * lock file open: four descriptors a partition, for at most one partition
 * per eight descriptors of RLIMIT_NOFILE (the least recently used one is
 * closed first).
 * Flushes per the topic's flush.messages and flush.ms.  With MQ_NOWAIT a
 * held lock fails with MQ_EBUSY instead of waiting.  MQ_ETOOBIG if the
 * encoded batch exceeds max.message.bytes; nothing is written then.  On
 * success the batch is reset; on failure it is left as it was.  An empty
 * batch is a no-op.
 */
int mq_append(mq_topic *t, int32_t p, mq_batch *b, int flags,
              int64_t *base_offset);

/*
 * Flag of mq_append, besides MQ_NOWAIT: start writing the appended bytes
 * back to disk in the background (sync_file_range(2), SYNC_FILE_RANGE_WRITE,
 * about every 4 MiB), so that a later mq_sync has little left to wait for.
 * It promises nothing about durability: only mq_sync does.
 */
enum { MQ_WRITEBACK = 0x800 };

/*
 * Flag of mq_append: keep the partition's lock after the append, for a
 * burst of appends.  The next append to the partition neither takes the
 * lock nor re-checks the tail (nobody else can have written).  The first
 * append that ends MQ_HOLD_MS or more after the first kept lock was taken
 * releases them all (those of other partitions too), so that writers
 * waiting for them get their turn before the next appends take them
 * again.  While this handle keeps any lock it never waits for
 * another: if that one is busy, it releases all it keeps first (so two
 * writers holding locks cannot wait for each other).  The caller must
 * call mq_release_locks when its burst ends, and before it waits for
 * input, sleeps or takes any other lock.  An append without MQ_HOLD
 * releases the partition's lock as usual; a failed append, mq_roll,
 * mq_retain, mq_compact, mq_repair_partition and mq_topic_close release
 * every kept lock.  Anything else that locks a partition (another handle,
 * mq_topic_delete) waits for them: in the same thread, for ever.
 */
enum { MQ_HOLD = 0x1000 };
#define MQ_HOLD_MS 10

/* mq_release_locks releases every partition lock this handle keeps after
 * appends with MQ_HOLD.  It cannot fail. */
void mq_release_locks(mq_topic *t);

/* mq_set_hold_ms sets how long this handle keeps locks with MQ_HOLD, in
 * place of MQ_HOLD_MS (0: they are released at the end of every append).
 * Meant for tests, which cannot count on an append taking under 10 ms on
 * a busy machine.  It cannot fail. */
void mq_set_hold_ms(mq_topic *t, int ms);

/*
 * mq_sync fsyncs every file this handle appended to since the last sync,
 * and the partition directories where it created segments.  After it
 * returns 0, everything appended through t survives a crash.
 */
int mq_sync(mq_topic *t);

/*
 * mq_recovery_report returns, for partition P, a description of what the
 * last tail recovery through this handle dropped (a torn or corrupt tail),
 * or NULL if nothing was dropped.  Owned by the handle.
 */
const char *mq_recovery_report(const mq_topic *t, int32_t p);

/* ------------------------------------------------------------------ */
/* Reading.                                                            */

typedef struct mq_reader mq_reader;

/*
 * mq_reader_open opens a lock-free reader of partition P positioned at the
 * log start offset.  MQ_ERANGE for a partition the topic does not have.
 * The reader keeps its own file descriptors, so it keeps working while t is
 * used for other things, but t must outlive it.
 */
int mq_reader_open(mq_topic *t, int32_t p, mq_reader **out);

/* mq_reader_close frees the reader.  NULL is allowed. */
void mq_reader_close(mq_reader *r);

/*
 * mq_reader_seek positions the reader so that the next record returned is
 * the first one with offset >= OFFSET.  An offset below the log start
 * offset positions at the log start and returns 1 (so the caller can warn);
 * an offset past the log end positions at the log end.  Returns 0 otherwise.
 */
int mq_reader_seek(mq_reader *r, int64_t offset);

/*
 * mq_reader_seek_time positions the reader at the first record whose
 * timestamp is >= TS (ms since the epoch), found through the timeindex, or
 * at the log end if there is none.
 */
int mq_reader_seek_time(mq_reader *r, int64_t ts);

/*
 * mq_reader_next stores the next record in *rec and returns 1, or returns 0
 * at the current end of the log (a torn or incomplete tail batch counts as
 * not yet written; call again later to see new records).  A batch that
 * fails its CRC or structural checks is MQ_ECORRUPT with topic, partition,
 * offset, file and position in mq_errmsg(); a batch with a codec mq cannot
 * decode is MQ_ECODEC.  After an error the reader stays at the failed
 * batch.  Control batches (transaction markers) are skipped.
 */
int mq_reader_next(mq_reader *r, mq_record *rec);

/* The offset of the next record the reader would return. */
int64_t mq_reader_position(const mq_reader *r);

/*
 * mq_log_offsets stores the log start offset (first offset still stored)
 * and the log end offset (offset the next appended record will get) of
 * partition P.  Takes no lock; the answer may be stale by the time it is
 * used.
 */
int mq_log_offsets(mq_topic *t, int32_t p, int64_t *start, int64_t *end);

/* ------------------------------------------------------------------ */
/* Looking inside (mq-inspect).                                        */

typedef struct mq_segment_info {
	int64_t base_offset;     /* from the file name */
	int64_t next_offset;     /* last offset + 1 (base_offset if empty) */
	int64_t records;         /* records in valid batches */
	int64_t batches;
	uint64_t log_bytes, index_bytes, timeindex_bytes;
	int64_t first_timestamp; /* -1 if empty */
	int64_t max_timestamp;   /* -1 if empty */
} mq_segment_info;

/*
 * mq_partition_segments scans partition P and returns its segments in
 * offset order as a malloc'ed array (caller frees) of *n entries.  Every
 * batch header is read, so the cost is one read per batch.  A segment
 * that retention removes between the listing and the read is left out.
 */
int mq_partition_segments(mq_topic *t, int32_t p, mq_segment_info **out,
                          size_t *n);

/* One RecordBatch header as stored, for dumping and verification. */
typedef struct mq_batch_info {
	uint64_t position;       /* byte position in the segment file */
	int64_t base_offset;
	int64_t last_offset;
	int32_t length;          /* batchLength field */
	int32_t leader_epoch;
	int8_t magic;
	uint32_t crc;            /* as stored */
	int crc_ok;              /* 1 if the CRC-32C matches */
	int16_t attributes;
	int compression;         /* MQ_COMPRESSION_* */
	int timestamp_type;      /* MQ_TS_* */
	int transactional, control;
	int64_t base_timestamp, max_timestamp;
	int64_t producer_id;
	int16_t producer_epoch;
	int32_t base_sequence;
	int32_t count;
} mq_batch_info;

typedef struct mq_dump mq_dump;

/*
 * mq_dump_open opens one segment file (.log) at PATH for dumping; it works
 * on any Kafka segment, inside a data directory or not, and never writes.
 */
int mq_dump_open(const char *path, mq_dump **out);
void mq_dump_close(mq_dump *d);

/*
 * mq_dump_next_batch reads the next batch header into *info and returns 1,
 * 0 at the end of the file (an incomplete last batch counts as not yet
 * written), MQ_ECORRUPT if the bytes at the current position cannot be a
 * batch (the position is in mq_errmsg(); the dump cannot go on).
 * A batch whose CRC fails is returned with crc_ok = 0.
 */
int mq_dump_next_batch(mq_dump *d, mq_batch_info *info);

/*
 * mq_dump_next_record returns the records of the batch last returned by
 * mq_dump_next_batch one by one: 1 and *rec, 0 when the batch has no more,
 * MQ_ECODEC or MQ_ECORRUPT if they cannot be decoded.
 */
int mq_dump_next_record(mq_dump *d, mq_record *rec);

/*
 * mq_verify_partition checks partition P: every batch's CRC and structure,
 * offset continuity within and across segments, and every .index and
 * .timeindex entry against the log.  An incomplete batch at the end of
 * the last segment is not a problem (it is not yet written, or a torn tail
 * the next writer truncates), and neither are the offsets missing after a
 * segment that mq_repair_partition cut (its set-aside file SEGMENT.log.
 * damaged-SIZE records the cut).  Each problem is passed to report()
 * with the file path, the byte position and a sentence; the return value is
 * the number of problems found (0 = clean) or a negative MQ_E* code if the
 * check itself could not run.  Never writes anything, and takes no lock:
 * next to a writer each .log is checked up to its size when opened, the
 * last segment's index entries for batches appended since are skipped, and
 * a segment removed after the listing (retention) is skipped.
 */
typedef void (*mq_report_fn)(void *ctx, const char *file, uint64_t position,
                             const char *problem);
int mq_verify_partition(mq_topic *t, int32_t p, mq_report_fn report,
                        void *ctx);

/* ------------------------------------------------------------------ */
/* Repair (mq-repair).                                                 */

/* Flags of mq_repair_partition, besides MQ_NOWAIT. */
enum { MQ_REPAIR_DRY_RUN = 0x400 };

/* What was done to one file (mq_repair_action.kind). */
enum { MQ_REPAIR_DAMAGE = 1,  /* a .log cut at a bad batch, rest set aside */
       MQ_REPAIR_TORN = 2,    /* an incomplete last batch cut off */
       MQ_REPAIR_INDEX = 3 }; /* an .index or .timeindex rebuilt */

typedef struct mq_repair_action {
	int kind;                /* MQ_REPAIR_* */
	const char *file;        /* base name, "00000000000000000000.log" */
	int64_t base_offset;     /* of the segment */
	const char *why;         /* the problem: "CRC mismatch", "missing" */
	/* MQ_REPAIR_DAMAGE and MQ_REPAIR_TORN: */
	uint64_t position;       /* byte position of the bad batch */
	int64_t offset;          /* the offset it should have started at */
	int64_t batches, records;/* valid batches and records kept before it */
	uint64_t bytes;          /* bytes from it to the end of the file */
	/* MQ_REPAIR_DAMAGE: base name of the file the bytes were moved to;
	 * MQ_REPAIR_INDEX: of the file a non-regular index was moved to, or
	 * NULL. */
	const char *aside;
} mq_repair_action;

typedef void (*mq_repair_fn)(void *ctx, const mq_repair_action *a);

/*
 * mq_repair_partition repairs partition P of t under its writer lock (and,
 * for compacted topics, the cleaner lock), segment by segment in offset
 * order, and passes each action to report (may be NULL):
 *  - a .log whose scan meets a bad batch (CRC, header, offset order, or an
 *    incomplete batch that is not a torn tail) keeps every valid batch
 *    before it; the bytes from the bad batch to the end are first written
 *    to SEGMENT.log.damaged-POS beside it (POS the bad batch's position;
 *    ".N" is appended when a different file has that name), durably, and
 *    then the .log is truncated at POS and its indexes are rebuilt.  The
 *    offsets lost in a closed segment become a gap that readers skip;
 *  - an incomplete batch at the end of the last segment with no valid
 *    batch after it (a torn tail) is cut as the writer would cut it;
 *  - an .index or .timeindex that is missing, not a regular file (moved
 *    aside to NAME.damaged), or inconsistent with the log is rebuilt.
 * Every step is crash-safe: files are written to a temporary file, synced
 * and renamed, the set-aside bytes are durable before the .log is cut, and
 * a crash leaves a state the next repair or writer recovers.  With
 * MQ_REPAIR_DRY_RUN nothing changes and the actions say what would be
 * done.  Returns the number of actions (0: nothing needed repair), or a
 * negative MQ_E* code (MQ_EBUSY with MQ_NOWAIT when a lock is held); a
 * failure may come after some actions were done and reported.
 */
int mq_repair_partition(mq_topic *t, int32_t p, int flags,
                        mq_repair_fn report, void *ctx);

/* ------------------------------------------------------------------ */
/* Consumer groups: committed offsets.                                 */

/*
 * A consumer group's committed offset for a partition is the offset of the
 * next record the group will consume, kept in
 * DIR/.mq/groups/GROUP/TOPIC/P.offset (decimal and a newline, replaced
 * atomically).  The functions below are the read side; membership,
 * ownership and commits follow (format-spec/groups.md has the protocol).
 */

/*
 * mq_group_list stores in *names the sorted names of the groups that have
 * a directory under DIR/.mq/groups, as a NULL-terminated array freed with
 * mq_free_list().  No such directory gives an empty list.  On failure
 * (MQ_EIO, MQ_ENOMEM) *names is NULL.
 */
int mq_group_list(mq_env *env, char ***names);

/*
 * mq_group_committed stores in *offset the offset group GROUP has committed
 * for partition P of topic TOPIC, or -1 when it has committed none there.
 * MQ_EBADNAME for an invalid group or topic name, MQ_EINVAL for P < 0,
 * MQ_ECORRUPT if the offset file does not hold a decimal offset and a
 * newline, MQ_EIO if it cannot be read.
 */
int mq_group_committed(mq_env *env, const char *group, const char *topic,
                       int32_t p, int64_t *offset);

/*
 * A member of a group registers itself in DIR/.mq/groups/GROUP/members/ID
 * and holds an exclusive flock on that file while it lives; it owns
 * partition P of TOPIC while it holds an exclusive flock on
 * GROUP/TOPIC/P.owner.  Every member computes the same assignment from
 * the sorted live member ids and the sorted (topic, partition) list:
 * partition number i of that list goes to member i mod M.  The kernel
 * drops a dead member's locks, which is how the others notice.
 */
typedef struct mq_group mq_group;

/* What an ownership file says about its owner (for display). */
typedef struct mq_group_owner {
	int64_t pid;             /* 0 if unknown */
	int64_t since;           /* ms since the epoch it took over, 0 */
	char host[256];
	char member[64];
} mq_group_owner;

/* Flags of mq_group_commit, mq_group_rebalance and mq_group_leave. */
enum { MQ_GROUP_NOSYNC = 0x1000 };  /* rename without fsync */

/*
 * mq_group_join registers a new member of GROUP subscribed to the n
 * topics (each opened once to count its partitions; MQ_ENOTOPIC if one
 * is missing, MQ_EBADNAME for a bad group or topic name).  It waits while
 * an administrator holds the group (mq_group_admin_open).  The member
 * owns nothing yet: call mq_group_rebalance.  All members of a group
 * should subscribe to the same topics; members with different lists
 * still never share a partition, but may leave some unread.
 */
int mq_group_join(mq_env *env, const char *group, const char *const *topics,
                  size_t n, mq_group **out);

/* The member's id (unique, no '.', sorts by join time).  Cannot fail. */
const char *mq_group_member(const mq_group *g);

/*
 * The subscription: mq_group_size partitions in assignment order (by
 * topic name, then partition number); mq_group_part names the i-th.
 * mq_group_owns says whether this member owns it now, mq_group_assigned
 * whether the last rebalance assigned it to this member (owned or still
 * to be taken over), mq_group_offset is
 * its committed offset (read when ownership was taken, then updated by
 * each commit; -1 for none), and mq_group_live is the number of live
 * members the last rebalance counted.  None of these can fail.
 */
size_t mq_group_size(const mq_group *g);
void mq_group_part(const mq_group *g, size_t i, const char **topic,
                   int32_t *partition);
int mq_group_owns(const mq_group *g, size_t i);
int mq_group_assigned(const mq_group *g, size_t i);
int64_t mq_group_offset(const mq_group *g, size_t i);
size_t mq_group_live(const mq_group *g);

/*
 * mq_group_rebalance counts the live members (removing dead members'
 * registrations), computes the assignment, and then first releases every
 * owned partition not assigned to this member, committing its processed
 * offset before dropping the lock, and then tries, without waiting, to
 * take each assigned partition it does not own (one still held by its
 * previous owner is tried again at the next call).  fn (may be NULL) is
 * called with owned 0 after each release and with owned 1 after each
 * take-over, when mq_group_offset already holds the committed offset.
 * Call it every 200 ms or so.  flags: MQ_GROUP_NOSYNC for the commits.
 * On failure the member is left consistent (owning what it could).
 */
typedef void (*mq_group_fn)(void *ctx, size_t i, int owned);
int mq_group_rebalance(mq_group *g, int flags, mq_group_fn fn, void *ctx);

/*
 * mq_group_processed records that everything before offset NEXT of
 * partition i has been processed; the next commit writes it.  MQ_EINVAL
 * if this member does not own partition i.
 */
int mq_group_processed(mq_group *g, size_t i, int64_t next);

/*
 * mq_group_commit writes the processed offset of every owned partition
 * whose offset changed since its last commit, each to its P.offset file
 * by write to a temporary file and rename(2), with fsync of the file and
 * the directory unless MQ_GROUP_NOSYNC is in flags.  Before writing it
 * checks that the ownership file it holds locked is still the one in the
 * directory; if not (the group was deleted or reset by force) the
 * partition counts as lost: it is released, nothing is written for it,
 * and the call fails with MQ_EBUSY after doing the rest.
 */
int mq_group_commit(mq_group *g, int flags);

/*
 * mq_group_leave commits (as mq_group_commit), releases every partition,
 * removes the member's registration and frees g, so the others take over
 * at once.  Returns the commit's result; g is freed in every case.  NULL
 * is allowed.
 */
int mq_group_leave(mq_group *g, int flags);

/*
 * mq_group_members stores in *live the number of live members of GROUP
 * without changing anything.  A group without a directory has 0.
 */
int mq_group_members(mq_env *env, const char *group, size_t *live);

/* One partition of mq_group_describe. */
typedef struct mq_group_pinfo {
	char *topic;
	int32_t partition;
	int64_t committed;       /* -1: none */
	int owned;               /* 1 if a member holds its ownership lock */
	mq_group_owner owner;    /* valid when owned */
} mq_group_pinfo;

/*
 * mq_group_describe lists what GROUP knows, sorted by topic and
 * partition: each partition of each topic it has a directory for (every
 * partition of the topic when the topic exists, plus any other partition
 * with an offset or ownership file), with its committed offset and its
 * owner.  Changes nothing.  MQ_EINVAL ("no such group") if the group has
 * no directory; free the array with mq_group_describe_free.
 */
int mq_group_describe(mq_env *env, const char *group, mq_group_pinfo **out,
                      size_t *n);
void mq_group_describe_free(mq_group_pinfo *v, size_t n);

/*
 * Offset administration.  mq_group_admin_open takes the group's
 * administration lock (joining members wait for it) and then checks that
 * no member is live: MQ_EBUSY if one is (the lock is not kept), MQ_EINVAL
 * if the group does not exist and create is 0.  While held,
 * mq_group_admin_set writes committed offsets (durably) and
 * mq_group_admin_delete removes the whole group (after which only close
 * is allowed).  mq_group_admin_close releases the lock; NULL is allowed.
 */
typedef struct mq_group_admin mq_group_admin;
int mq_group_admin_open(mq_env *env, const char *group, int create,
                        mq_group_admin **out);
int mq_group_admin_set(mq_group_admin *a, const char *topic, int32_t p,
                       int64_t offset);
int mq_group_admin_delete(mq_group_admin *a);
void mq_group_admin_close(mq_group_admin *a);

/* ------------------------------------------------------------------ */
/* Retention: log start offset and segment deletion.                   */

/*
 * A partition's log start offset is the first offset a reader can get: the
 * larger of its first segment's base offset and the value kept in
 * TOPIC-N/mq.log-start.  Readers do not return a record below it, even
 * while a segment still holds such records (mq_log_offsets reports it,
 * mq_reader_seek below it returns 1), with one exception: a reader reads a
 * segment in chunks (up to 1 MiB) and checks the log start offset when it
 * seeks, opens a segment or reads a chunk, so records of a chunk it read
 * before the log start moved may still be returned; then it continues at
 * the log start offset (mq_reader_moved reports the jump).
 */

/*
 * mq_reader_moved reports a jump the reader made on its own because the
 * records it was about to return were removed (retention deleted their
 * segment, or the log start offset was moved past its position): the
 * reader then continues at the log start offset.  Returns 1 and stores
 * the offset the reader would have returned next in *from and the offset
 * it continued at in *to (either may be NULL), and forgets the jump;
 * returns 0 if the reader has not jumped since the last call.  After
 * several jumps, *from is the first one's and *to the last one's.  Seeks
 * asked for by the caller are reported by mq_reader_seek's return value
 * instead, never here.  Cannot fail.
 */
int mq_reader_moved(mq_reader *r, int64_t *from, int64_t *to);

/*
 * mq_roll closes partition P's active segment and starts a new, empty one
 * at the log end offset, under the partition lock, when the active segment
 * holds at least one byte; *rolled (may be NULL) says whether it did.
 * With MQ_NOWAIT a held lock is MQ_EBUSY.
 */
int mq_roll(mq_topic *t, int32_t p, int flags, int *rolled);

/* Why a segment may go (bits of mq_retain_segment.reasons). */
enum { MQ_RETAIN_TIME = 1,       /* newest record older than retention.ms */
       MQ_RETAIN_SIZE = 2,       /* partition larger than retention.bytes */
       MQ_RETAIN_LOG_START = 4 };/* wholly below the log start offset */

/* What happened to it (mq_retain_segment.action). */
enum { MQ_RETAIN_ROLLED = 1,     /* the active segment was rolled */
       MQ_RETAIN_DELETED = 2,    /* the segment was deleted */
       MQ_RETAIN_KEPT = 3 };     /* kept for a consumer group; the end */

typedef struct mq_retain_opts {
	int flags;               /* MQ_NOWAIT: a held lock is MQ_EBUSY */
	int dry_run;             /* decide and report, change nothing */
	int policy;              /* apply retention.ms and retention.bytes when
	                            cleanup.policy includes delete */
	int64_t now_ms;          /* retention.ms counts back from this; -1: now */
	int64_t delete_before;   /* move the log start up to here; -1: no */
	int respect_groups;      /* keep what consumer groups have not consumed */
	const char *const *groups; /* NULL-terminated; NULL means every group */
} mq_retain_opts;

/* One segment event, passed to the report callback. */
typedef struct mq_retain_segment {
	int action;              /* MQ_RETAIN_ROLLED, _DELETED or _KEPT */
	int reasons;             /* MQ_RETAIN_* bits that made it deletable */
	int64_t base_offset;
	int64_t next_offset;     /* the next segment's base (or the log end) */
	int64_t max_timestamp;   /* its newest record, -1 if not looked at */
	uint64_t log_bytes;      /* size of the .log */
	uint64_t bytes;          /* .log + .index + .timeindex */
	const char *group;       /* KEPT: the group holding it */
	int64_t committed;       /* KEPT: that group's offset, -1 if none */
} mq_retain_segment;

typedef struct mq_retain_result {
	int64_t log_start_before;
	int64_t log_start;       /* after (the planned one with dry_run) */
	int64_t log_end;
	int64_t segments_deleted;
	uint64_t bytes_freed;    /* .log + .index + .timeindex */
	int rolled;
} mq_retain_result;

typedef void (*mq_retain_fn)(void *ctx, const mq_retain_segment *seg);

/*
 * mq_retain applies retention to partition P of topic t under the
 * partition lock, deleting whole segments oldest first; the active
 * segment is never deleted, but it is rolled first when it is the last one
 * left and is itself past the limits.  A segment goes while it is
 *  - (o->policy, cleanup.policy has delete) one whose newest record is
 *    more than retention.ms older than o->now_ms, or one the partition can
 *    lose and still hold at least retention.bytes of .log files (Kafka's
 *    rule), or
 *  - wholly below the log start offset, which o->delete_before >= 0 first
 *    moves forward (never back; beyond the log end is MQ_ERANGE and
 *    nothing changes).
 * With o->respect_groups the first segment that holds records a consumer
 * group (every group that has committed offsets for the topic, or those
 * in o->groups) has not committed stops the policy deletions; a group with
 * commits for other partitions of the topic but none for P holds all of
 * P.  Moves by delete_before are not held back by groups.
 * The log start offset is persisted before any file is removed, so a
 * reader never finds a hole below it; then the .log, .index and
 * .timeindex files go and the directory is fsynced.  report (may be NULL)
 * gets each rolled, deleted and kept segment in order; *res (may be NULL)
 * the totals.  With o->dry_run nothing is changed (the lock is still
 * taken) and the events say what would happen.  MQ_EBUSY with MQ_NOWAIT
 * when the lock is held.  A failure after some files went leaves a
 * consistent partition (the log start already covers them).
 */
int mq_retain(mq_topic *t, int32_t p, const mq_retain_opts *o,
              mq_retain_fn report, void *ctx, mq_retain_result *res);

/* ------------------------------------------------------------------ */
/* Compaction.                                                         */

/*
 * The cleaner's view of a partition, in Kafka's terms.  The cleanable log
 * is [log_start, first_uncleanable): every closed segment up to the first
 * one holding a record newer than min.compaction.lag.ms (the active
 * segment is never cleanable).  The cleaner checkpoint (offsets below it
 * were compacted, kept in TOPIC-N/mq.cleaner-checkpoint) splits it into
 * clean bytes below and dirty bytes above; the dirty ratio is
 * dirty / (clean + dirty), or 0 when the cleanable log is empty.
 */
typedef struct mq_dirty {
	int64_t log_start;
	int64_t checkpoint;
	int64_t first_uncleanable;
	uint64_t clean_bytes, dirty_bytes;
	double ratio;
} mq_dirty;

/*
 * mq_dirty_ratio computes *out for partition P of t, whatever its
 * cleanup.policy.  Takes no lock and writes nothing; the cost is a stat
 * per segment plus a read of the segment holding the checkpoint (and,
 * with min.compaction.lag.ms > 0, of the dirty segments' batch headers).
 */
int mq_dirty_ratio(mq_topic *t, int32_t p, mq_dirty *out);

/* Flags of mq_compact, besides MQ_NOWAIT. */
enum { MQ_COMPACT_FORCE = 0x100, MQ_COMPACT_DRY_RUN = 0x200 };

typedef struct mq_compact_opts {
	size_t buffer_bytes;   /* key map size cap; 0 means 128 MiB */
	int flags;             /* MQ_NOWAIT, MQ_COMPACT_FORCE, _DRY_RUN */
	int64_t now;           /* clock for record ages (ms); 0 means now */
} mq_compact_opts;

typedef struct mq_compact_stats {
	mq_dirty dirty;            /* the state that decided, before */
	int compacted;             /* 1 if passes ran (would, in a dry run) */
	int passes;                /* key map fillings */
	int64_t segments_rewritten;
	int64_t records_before, records_after;  /* whole partition */
	uint64_t bytes_before, bytes_after;     /* .log bytes, whole partition */
} mq_compact_stats;

/*
 * mq_compact compacts partition P of t as Kafka's log cleaner does: in
 * the cleanable log (see mq_dirty) only the record with the highest
 * offset survives for each key, records without a key are dropped, and a
 * tombstone (null value) is dropped once its timestamp is more than
 * delete.retention.ms before now.  Offsets, order, timestamps, headers and
 * each batch's codec are kept.  It runs when the dirty ratio is at least
 * min.cleanable.dirty.ratio or MQ_COMPACT_FORCE is given, in as many
 * passes as the key map (opts->buffer_bytes) needs.  Each rewritten
 * segment replaces the old one by write, fsync, rename, holding the
 * partition writer lock only for the renames; a crash at any point leaves
 * a log that reads correctly, and the next call finishes or undoes the
 * interrupted swap.  Compactions of one partition are serialised by
 * TOPIC-N/mq.cleaner.lock.  With MQ_NOWAIT a held cleaner or writer lock
 * at the start is MQ_EBUSY; later swaps always wait for the writer lock.
 * MQ_COMPACT_DRY_RUN computes the same figures and changes nothing.
 * MQ_EINVAL if the topic's cleanup.policy lacks compact; MQ_ECORRUPT
 * (nothing changed in the damaged segment) if a batch fails its checks.
 * st (may be NULL) receives the figures.
 */
int mq_compact(mq_topic *t, int32_t p, const mq_compact_opts *opts,
               mq_compact_stats *st);

#ifdef __cplusplus
}
#endif

#endif /* MQ_H */
