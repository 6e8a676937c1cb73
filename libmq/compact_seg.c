/*
 * compact_seg.c - rewriting one segment without the records a pass drops:
 * the survivors go to BASE.log.cleaned, batch by batch (copied whole when
 * nothing in them is dropped, re-encoded otherwise), with regenerated
 * indexes.  compact_swap.c puts the result in place.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "codec.h"
#include "compact.h"
#include "crc32c.h"
#include "error.h"
#include "internal.h"
#include "nofollow.h"
#include "segment.h"
#include "varint.h"

#define OUT_CHUNK (1u << 20)   /* output buffered before each write(2) */

/* The output segment being produced, and its indexes (Kafka's rule). */
struct out {
	const char *dir;
	int64_t base;
	int in_fd;              /* the segment being read */
	int fd;                 /* B.log.cleaned; -1 until the first change */
	int dry_run;
	mq_buf buf;             /* bytes not yet written to fd */
	uint64_t pos;           /* output bytes so far */
	mq_buf idx, tidx;
	int32_t interval;
	uint64_t since_index;
	int64_t max_ts, max_ts_off, last_tidx_ts;
};

static int flush_out(struct out *o)
{
	if (o->fd < 0 || o->buf.len == 0)
		return MQ_OK;
	if (mq_write_all(o->fd, o->buf.data, o->buf.len) < 0)
		return mq_fail(MQ_EIO, "cannot write %020" PRId64 MQ_CLEANED_LOG
		               " in '%s'", o->base, o->dir);
	o->buf.len = 0;
	return MQ_OK;
}

/*
 * start_output opens B.log.cleaned at the first change and copies the
 * batches kept so far, which are byte for byte the first o->pos bytes of
 * the segment being read.
 */
static int start_output(struct out *o)
{
	char path[PATH_MAX];
	int rc = mq_seg_path(path, sizeof path, o->dir, o->base, MQ_CLEANED_LOG);
	if (rc < 0)
		return rc;
	o->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	             0644);
	if (o->fd < 0)
		return mq_fail(MQ_EIO, "cannot create '%s'", path);
	uint64_t done = 0;
	while (done < o->pos) {
		size_t want = o->pos - done > OUT_CHUNK ? OUT_CHUNK
		                                        : (size_t)(o->pos - done);
		if ((rc = mq_buf_reserve(&o->buf, want)) < 0)
			return rc;
		ssize_t n = pread(o->in_fd, o->buf.data, want, (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return mq_fail(MQ_EIO, "cannot read segment %020" PRId64
			               " in '%s'", o->base, o->dir);
		}
		o->buf.len = (size_t)n;
		if ((rc = flush_out(o)) < 0)
			return rc;
		done += (uint64_t)n;
	}
	return MQ_OK;
}

/* index_batch adds the entries Kafka's LogSegment.append would add. */
static int index_batch(struct out *o, uint64_t len, int64_t last_offset,
                       int64_t max_ts)
{
	int rc;
	if (max_ts > o->max_ts) {
		o->max_ts = max_ts;
		o->max_ts_off = last_offset;
	}
	if (o->since_index > (uint64_t)o->interval) {
		if ((rc = mq_buf_reserve(&o->idx, MQ_INDEX_ENTRY)) < 0)
			return rc;
		mq_index_entry(o->idx.data + o->idx.len, o->base, last_offset,
		               o->pos);
		o->idx.len += MQ_INDEX_ENTRY;
		if (o->max_ts > o->last_tidx_ts) {
			if ((rc = mq_buf_reserve(&o->tidx, MQ_TIMEINDEX_ENTRY)) < 0)
				return rc;
			mq_timeindex_entry(o->tidx.data + o->tidx.len, o->base,
			                   o->max_ts, o->max_ts_off);
			o->tidx.len += MQ_TIMEINDEX_ENTRY;
			o->last_tidx_ts = o->max_ts;
		}
		o->since_index = 0;
	}
	o->since_index += len;
	return MQ_OK;
}

/* emit appends one batch to the output (only counted in a dry run). */
static int emit(struct out *o, const uint8_t *batch, size_t len,
                int64_t last_offset, int64_t max_ts)
{
	int rc = index_batch(o, len, last_offset, max_ts);
	if (rc < 0)
		return rc;
	if (o->fd >= 0) {
		if ((rc = mq_buf_reserve(&o->buf, len)) < 0)
			return rc;
		memcpy(o->buf.data + o->buf.len, batch, len);
		o->buf.len += len;
		if (o->buf.len >= OUT_CHUNK && (rc = flush_out(o)) < 0)
			return rc;
	}
	o->pos += len;
	return MQ_OK;
}

/* What one segment's records need while a batch is filtered. */
struct ctx {
	const struct mq_clean_rule *rule;
	struct out o;
	mq_rec_iter it;
	mq_buf recs;            /* survivors' records, as stored */
	mq_buf enc;             /* the re-encoded batch */
	z_stream *zs;           /* kept for gzip, NULL until first use */
	struct mq_clean_seg *res;
};

static inline int gone(const struct mq_clean_rule *r, int64_t off)
{
	int64_t i = off - r->gone_base;
	return r->gone && i >= 0 && i < r->gone_len &&
	       (r->gone[i >> 3] >> (i & 7) & 1);
}

static inline void mark_gone(const struct mq_clean_rule *r, int64_t off)
{
	int64_t i = off - r->gone_base;
	if (r->gone && r->record_gone && i >= 0 && i < r->gone_len)
		r->gone[i >> 3] |= (uint8_t)(1u << (i & 7));
}

/* keep decides whether record rec survives the pass. */
static int keep(const struct mq_clean_rule *r, const mq_record *rec)
{
	if (rec->offset >= r->end)
		return 1;
	if (rec->key_len < 0)
		return 0;
	mq_keyhash h;
	mq_key_hash(rec->key, (size_t)rec->key_len, &h);
	if (mq_keymap_get(r->map, &h) > rec->offset)
		return 0;
	if (rec->value_len < 0 && rec->timestamp < r->tomb_before)
		return 0;
	return 1;
}

/*
 * gzip_into compresses len bytes at in as one gzip stream, appended to out.
 * MQ_ENOMEM, or MQ_ECODEC if zlib fails.
 */
static int gzip_into(z_stream **zsp, const uint8_t *in, size_t len, mq_buf *out)
{
	z_stream *zs = *zsp;
	int zrc;
	if (!zs) {
		if (!(zs = calloc(1, sizeof *zs)))
			return mq_fail(MQ_ENOMEM, "cannot allocate a gzip stream");
		zrc = deflateInit2(zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16,
		                   8, Z_DEFAULT_STRATEGY);
		if (zrc != Z_OK) {
			free(zs);
			return mq_fail(MQ_ECODEC, "cannot start gzip compression "
			               "(zlib error %d)", zrc);
		}
		*zsp = zs;
	} else if ((zrc = deflateReset(zs)) != Z_OK) {
		return mq_fail(MQ_ECODEC, "cannot restart gzip compression (zlib "
		               "error %d)", zrc);
	}
	if (len > UINT32_MAX / 2)
		return mq_fail(MQ_ETOOBIG, "batch too large to compress");
	size_t bound = deflateBound(zs, (uLong)len);
	int rc = mq_buf_reserve(out, bound);
	if (rc < 0)
		return rc;
	zs->next_in = (Bytef *)in;
	zs->avail_in = (uInt)len;
	zs->next_out = out->data + out->len;
	zs->avail_out = (uInt)bound;
	zrc = deflate(zs, Z_FINISH);
	if (zrc != Z_STREAM_END)
		return mq_fail(MQ_ECODEC, "gzip compression failed (zlib error "
		               "%d)", zrc);
	out->len += bound - zs->avail_out;
	return MQ_OK;
}

/*
 * reencode builds in c->enc a batch of the survivors held in c->recs: the
 * original header (base offset, base timestamp, attributes, producer
 * fields, leader epoch) with the new record count, last offset delta and
 * maximum timestamp, and the records' original bytes, whose deltas stay
 * valid against the unchanged base offset and base timestamp.  The codec
 * is the original one.
 */
static int reencode(struct ctx *c, const mq_batch_info *in, int32_t count,
                    int64_t last, int64_t max_ts)
{
	mq_buf *e = &c->enc;
	int rc;
	e->len = 0;
	if ((rc = mq_buf_reserve(e, MQ_BATCH_HEADER)) < 0)
		return rc;
	e->len = MQ_BATCH_HEADER;
	if (in->compression == MQ_COMPRESSION_GZIP) {
		if ((rc = gzip_into(&c->zs, c->recs.data, c->recs.len, e)) < 0)
			return rc;
	} else {
		if ((rc = mq_buf_reserve(e, c->recs.len)) < 0)
			return rc;
		memcpy(e->data + e->len, c->recs.data, c->recs.len);
		e->len += c->recs.len;
	}
	if (in->timestamp_type == MQ_TS_LOG_APPEND)
		max_ts = in->max_timestamp;
	uint8_t *h = e->data;
	mq_put_be64(h, (uint64_t)in->base_offset);
	mq_put_be32(h + 8, (uint32_t)(e->len - MQ_BATCH_LOG_OVERHEAD));
	mq_put_be32(h + 12, (uint32_t)in->leader_epoch);
	h[16] = 2;
	mq_put_be16(h + 21, (uint16_t)in->attributes);
	mq_put_be32(h + 23, (uint32_t)(last - in->base_offset));
	mq_put_be64(h + 27, (uint64_t)in->base_timestamp);
	mq_put_be64(h + 35, (uint64_t)max_ts);
	mq_put_be64(h + 43, (uint64_t)in->producer_id);
	mq_put_be16(h + 51, (uint16_t)in->producer_epoch);
	mq_put_be32(h + 53, (uint32_t)in->base_sequence);
	mq_put_be32(h + 57, (uint32_t)count);
	mq_put_be32(h + 17, mq_crc32c(0, h + MQ_BATCH_CRC_START,
	                              e->len - MQ_BATCH_CRC_START));
	return MQ_OK;
}

/* filter_batch applies the rule to one batch and emits what survives. */
static int filter_batch(struct ctx *c, const uint8_t *batch, size_t len,
                        const mq_batch_info *in)
{
	const struct mq_clean_rule *r = c->rule;
	int rc;
	if (in->control || (in->compression != MQ_COMPRESSION_NONE &&
	                    in->compression != MQ_COMPRESSION_GZIP)) {
		/* Transaction markers, and codecs mq cannot decode: kept. */
		if (!in->control) {
			c->res->records_in += in->count;
			c->res->records_out += in->count;
		}
		return emit(&c->o, batch, len, in->last_offset, in->max_timestamp);
	}
	if ((rc = mq_rec_iter_start(&c->it, batch, len, in)) < 0)
		return rc;
	c->recs.len = 0;
	int32_t kept = 0;
	int dropped = 0;
	int64_t last = -1, max_ts = -1;
	for (;;) {
		const uint8_t *start = c->it.p;
		mq_record rec;
		rc = mq_rec_iter_next(&c->it, &rec);
		if (rc < 0)
			return rc;
		if (rc == 0)
			break;
		if (gone(r, rec.offset)) {
			dropped = 1; /* dropped by an earlier pass of a dry run */
			continue;
		}
		c->res->records_in++;
		if (!keep(r, &rec)) {
			dropped = 1;
			c->res->changed = 1;
			mark_gone(r, rec.offset);
			continue;
		}
		c->res->records_out++;
		size_t n = (size_t)(c->it.p - start);
		if ((rc = mq_buf_reserve(&c->recs, n)) < 0)
			return rc;
		memcpy(c->recs.data + c->recs.len, start, n);
		c->recs.len += n;
		kept++;
		last = rec.offset;
		if (rec.timestamp > max_ts)
			max_ts = rec.timestamp;
	}
	if (!dropped)
		return emit(&c->o, batch, len, in->last_offset, in->max_timestamp);
	if (c->o.fd < 0 && !c->o.dry_run && (rc = start_output(&c->o)) < 0)
		return rc;
	if (kept == 0)
		return MQ_OK;
	if ((rc = reencode(c, in, kept, last, max_ts)) < 0)
		return rc;
	return emit(&c->o, c->enc.data, c->enc.len, last,
	            (int64_t)mq_be64(c->enc.data + 35));
}

/* write_file creates path with data and fsyncs it. */
static int write_file(const char *path, const mq_buf *data)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	              0644);
	if (fd < 0)
		return mq_fail(MQ_EIO, "cannot create '%s'", path);
	if ((data->len && mq_write_all(fd, data->data, data->len) < 0) ||
	    fsync(fd) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return mq_fail(MQ_EIO, "cannot write '%s'", path);
	}
	if (close(fd) < 0)
		return mq_fail(MQ_EIO, "cannot write '%s'", path);
	return MQ_OK;
}

/* finish_output makes B.log.cleaned durable and writes its indexes. */
static int finish_output(struct out *o)
{
	char path[PATH_MAX];
	int rc = flush_out(o);
	if (rc < 0)
		return rc;
	if (fdatasync(o->fd) < 0)
		return mq_fail(MQ_EIO, "cannot fsync %020" PRId64 MQ_CLEANED_LOG
		               " in '%s'", o->base, o->dir);
	mq_compact_step(1);
	/* The final .timeindex entry, as a roll seals a segment. */
	if (o->max_ts >= 0 && o->max_ts > o->last_tidx_ts) {
		if ((rc = mq_buf_reserve(&o->tidx, MQ_TIMEINDEX_ENTRY)) < 0)
			return rc;
		mq_timeindex_entry(o->tidx.data + o->tidx.len, o->base, o->max_ts,
		                   o->max_ts_off);
		o->tidx.len += MQ_TIMEINDEX_ENTRY;
		o->last_tidx_ts = o->max_ts;
	}
	if ((rc = mq_seg_path(path, sizeof path, o->dir, o->base,
	                      MQ_CLEANED_INDEX)) < 0 ||
	    (rc = write_file(path, &o->idx)) < 0)
		return rc;
	if ((rc = mq_seg_path(path, sizeof path, o->dir, o->base,
	                      MQ_CLEANED_TIMEINDEX)) < 0 ||
	    (rc = write_file(path, &o->tidx)) < 0)
		return rc;
	mq_compact_step(2);
	return MQ_OK;
}

int mq_clean_segment(const char *dir, int64_t base, int32_t index_interval,
                     const struct mq_clean_rule *rule, int dry_run,
                     struct mq_clean_seg *res)
{
	char path[PATH_MAX];
	memset(res, 0, sizeof *res);
	int rc = mq_seg_path(path, sizeof path, dir, base, ".log");
	if (rc < 0)
		return rc;
	int fd = mq_open_nofollow(path, O_RDONLY, 0);
	if (fd < 0) {
		if (fd == MQ_EIO && errno == ENOENT)
			return MQ_OK; /* removed by retention meanwhile */
		return fd;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		rc = mq_fail(MQ_EIO, "cannot stat '%s'", path);
		close(fd);
		return rc;
	}
	res->ino = (uint64_t)st.st_ino;
	res->bytes_in = (uint64_t)st.st_size;

	struct ctx c;
	memset(&c, 0, sizeof c);
	c.rule = rule;
	c.res = res;
	c.o.dir = dir;
	c.o.base = base;
	c.o.in_fd = fd;
	c.o.fd = -1;
	c.o.dry_run = dry_run;
	c.o.interval = index_interval;
	c.o.max_ts = c.o.max_ts_off = c.o.last_tidx_ts = -1;

	mq_scan sc;
	mq_scan_init(&sc, fd, 0);
	for (;;) {
		const uint8_t *batch;
		mq_batch_info info;
		rc = mq_scan_next(&sc, &batch, &info);
		if (rc == 0 && sc.pos < res->bytes_in)
			rc = mq_fail(MQ_ECORRUPT, "incomplete batch at position %"
			             PRIu64, sc.pos);
		if (rc <= 0)
			break;
		size_t len = (size_t)info.length + MQ_BATCH_LOG_OVERHEAD;
		if (!mq_batch_check_crc(batch, len)) {
			rc = mq_fail(MQ_ECORRUPT, "CRC mismatch in batch at offset %"
			             PRId64 " (position %" PRIu64 ")",
			             info.base_offset, sc.pos);
			break;
		}
		if ((rc = filter_batch(&c, batch, len, &info)) < 0) {
			if (rc == MQ_ECORRUPT || rc == MQ_ECODEC)
				mq_fail_prefix(rc, "position %" PRIu64, sc.pos);
			break;
		}
		mq_scan_skip(&sc, &info);
	}
	mq_scan_free(&sc);
	if (rc == MQ_OK && c.o.fd >= 0)
		rc = finish_output(&c.o);
	res->bytes_out = c.o.pos;
	if (c.o.fd >= 0 && close(c.o.fd) < 0 && rc == MQ_OK)
		rc = mq_fail(MQ_EIO, "cannot write %020" PRId64 MQ_CLEANED_LOG
		             " in '%s'", base, dir);
	if (rc < 0 && c.o.fd >= 0)
		mq_clean_discard(dir, base);
	if (rc < 0)
		mq_fail_prefix(rc, "segment %020" PRId64 ".log in '%s'", base, dir);
	close(fd);
	if (c.zs) {
		deflateEnd(c.zs);
		free(c.zs);
	}
	mq_buf_free(&c.recs);
	mq_buf_free(&c.enc);
	mq_rec_iter_free(&c.it);
	mq_buf_free(&c.o.buf);
	mq_buf_free(&c.o.idx);
	mq_buf_free(&c.o.tidx);
	return rc;
}
