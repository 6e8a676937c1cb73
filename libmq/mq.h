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
 * buf is too small.
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

/* mq_batch_free frees the batch.  NULL is allowed. */
void mq_batch_free(mq_batch *b);

/*
 * mq_batch_add copies record r into the batch.  r->offset and
 * r->timestamp_type are ignored; r->timestamp -1 means "now".  Fails with
 * MQ_ENOMEM, or MQ_EINVAL for a batch already holding INT32_MAX records.
 */
int mq_batch_add(mq_batch *b, const mq_record *r);

/* Number of records in the batch, and its uncompressed size in bytes
 * including the 61-byte batch header. */
size_t mq_batch_count(const mq_batch *b);
size_t mq_batch_bytes(const mq_batch *b);

/*
 * mq_record_bytes returns the size a batch holding only r would have
 * (uncompressed), which is what max.message.bytes limits.
 */
size_t mq_record_bytes(const mq_record *r);

/* mq_batch_reset empties the batch and keeps its buffers. */
void mq_batch_reset(mq_batch *b);

/*
 * mq_append writes batch b to partition P of topic t as one RecordBatch and
 * stores the offset of its first record in *base_offset (may be NULL).  The
 * batch is encoded (and compressed) before the partition lock is taken; the
 * lock is held only to check the tail, roll the segment if due, write the
 * batch and update the indexes.  Readers see the batch whole or not at all.
 * Flushes per the topic's flush.messages and flush.ms.  With MQ_NOWAIT a
 * held lock fails with MQ_EBUSY instead of waiting.  MQ_ETOOBIG if the
 * encoded batch exceeds max.message.bytes; nothing is written then.  On
 * success the batch is reset; on failure it is left as it was.  An empty
 * batch is a no-op.
 */
int mq_append(mq_topic *t, int32_t p, mq_batch *b, int flags,
              int64_t *base_offset);

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
 * batch header is read, so the cost is one read per batch.
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
 * the next writer truncates).  Each problem is passed to report()
 * with the file path, the byte position and a sentence; the return value is
 * the number of problems found (0 = clean) or a negative MQ_E* code if the
 * check itself could not run.  Never writes anything.
 */
typedef void (*mq_report_fn)(void *ctx, const char *file, uint64_t position,
                             const char *problem);
int mq_verify_partition(mq_topic *t, int32_t p, mq_report_fn report,
                        void *ctx);

/* ------------------------------------------------------------------ */
/* Consumer groups: committed offsets.                                 */

/* (group API: added by the consumer-groups change) */

/* ------------------------------------------------------------------ */
/* Retention: log start offset and segment deletion.                   */

/* (retention API: added by the retention change) */

/* ------------------------------------------------------------------ */
/* Compaction.                                                         */

/* (compaction API: added by the compaction change) */

#ifdef __cplusplus
}
#endif

#endif /* MQ_H */
