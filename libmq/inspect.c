/*
 * inspect.c - read-only views for mq-inspect: per-segment summaries,
 * dumping any segment file, and verifying a partition.  Nothing here
 * writes or locks.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "active.h"
#include "codec.h"
#include "compact.h"
#include "error.h"
#include "internal.h"
#include "repair.h"
#include "segment.h"

static uint64_t file_size(const char *dir, int64_t base, const char *ext)
{
	char path[PATH_MAX];
	struct stat st;
	if (mq_seg_path(path, sizeof path, dir, base, ext) < 0 ||
	    stat(path, &st) < 0)
		return 0;
	return (uint64_t)st.st_size;
}

static int open_log(const char *dir, int64_t base, int *fd)
{
	char path[PATH_MAX];
	int rc = mq_seg_path(path, sizeof path, dir, base, ".log");
	if (rc < 0)
		return rc;
	*fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (*fd < 0)
		return mq_fail(MQ_EIO, "cannot open '%s'", path);
	return MQ_OK;
}

int mq_partition_segments(mq_topic *t, int32_t p, mq_segment_info **out,
                          size_t *n)
{
	char dir[PATH_MAX];
	*out = NULL;
	*n = 0;
	int rc = mq_partition_path(t, p, dir, sizeof dir);
	if (rc < 0)
		return rc;
	int64_t *bases;
	size_t cnt;
	rc = mq_seg_list(dir, &bases, NULL, &cnt);
	if (rc < 0)
		return mq_fail_prefix(rc, "topic '%s' partition %d", t->name, p);
	mq_segment_info *v = calloc(cnt ? cnt : 1, sizeof *v);
	if (!v) {
		free(bases);
		return mq_fail(MQ_ENOMEM, "topic '%s' partition %d", t->name, p);
	}
	size_t k = 0;
	for (size_t i = 0; i < cnt; i++) {
		mq_segment_info *s = &v[k];
		memset(s, 0, sizeof *s);
		s->base_offset = s->next_offset = bases[i];
		s->first_timestamp = s->max_timestamp = -1;
		s->log_bytes = file_size(dir, bases[i], ".log");
		s->index_bytes = file_size(dir, bases[i], ".index");
		s->timeindex_bytes = file_size(dir, bases[i], ".timeindex");
		int fd;
		rc = open_log(dir, bases[i], &fd);
		if (rc < 0 && errno == ENOENT) {
			/* Listed, then removed by retention: not there. */
			rc = MQ_OK;
			continue;
		}
		if (rc < 0)
			break;
		k++;
		mq_scan sc;
		mq_scan_init(&sc, fd, 0);
		for (;;) {
			const uint8_t *b;
			mq_batch_info info;
			if (mq_scan_next(&sc, &b, &info) != 1)
				break;
			if (!info.control) {
				s->records += info.count;
				if (s->first_timestamp < 0)
					s->first_timestamp = info.timestamp_type == MQ_TS_LOG_APPEND
					                     ? info.max_timestamp
					                     : info.base_timestamp;
				if (info.max_timestamp > s->max_timestamp)
					s->max_timestamp = info.max_timestamp;
			}
			s->batches++;
			s->next_offset = info.last_offset + 1;
			mq_scan_skip(&sc, &info);
		}
		mq_scan_free(&sc);
		close(fd);
	}
	free(bases);
	if (rc < 0) {
		free(v);
		return mq_fail_prefix(rc, "topic '%s' partition %d", t->name, p);
	}
	*out = v;
	*n = k;
	return MQ_OK;
}

struct mq_dump {
	int fd;
	mq_scan sc;
	mq_batch_info cur;
	const uint8_t *batch;
	int have_batch;
	mq_rec_iter it;
	int iterating;
};

int mq_dump_open(const char *path, mq_dump **out)
{
	*out = NULL;
	mq_dump *d = calloc(1, sizeof *d);
	if (!d)
		return mq_fail(MQ_ENOMEM, "dumping '%s'", path);
	d->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (d->fd < 0) {
		free(d);
		return mq_fail(MQ_EIO, "cannot open '%s'", path);
	}
	struct stat st;
	if (fstat(d->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(d->fd);
		free(d);
		errno = EISDIR;
		return mq_fail(MQ_EIO, "cannot dump '%s'", path);
	}
	mq_scan_init(&d->sc, d->fd, 0);
	*out = d;
	return MQ_OK;
}

void mq_dump_close(mq_dump *d)
{
	if (!d)
		return;
	mq_scan_free(&d->sc);
	mq_rec_iter_free(&d->it);
	close(d->fd);
	free(d);
}

int mq_dump_next_batch(mq_dump *d, mq_batch_info *info)
{
	if (d->have_batch) {
		mq_scan_skip(&d->sc, &d->cur);
		d->have_batch = 0;
	}
	d->iterating = 0;
	int rc = mq_scan_next(&d->sc, &d->batch, &d->cur);
	if (rc == 0)
		return 0; /* an incomplete last batch is not yet written */
	if (rc < 0)
		return rc;
	d->have_batch = 1;
	size_t len = (size_t)d->cur.length + MQ_BATCH_LOG_OVERHEAD;
	d->cur.crc_ok = mq_batch_check_crc(d->batch, len);
	*info = d->cur;
	return 1;
}

int mq_dump_next_record(mq_dump *d, mq_record *rec)
{
	if (!d->have_batch)
		return 0;
	if (!d->iterating) {
		int rc = mq_rec_iter_start(&d->it, d->batch,
		                           (size_t)d->cur.length + MQ_BATCH_LOG_OVERHEAD,
		                           &d->cur);
		if (rc < 0)
			return rc;
		d->iterating = 1;
	}
	return mq_rec_iter_next(&d->it, rec);
}

/* Verification of one partition. */
struct verify {
	mq_report_fn report;
	void *ctx;
	int problems;
	char path[PATH_MAX];
};

__attribute__((format(printf, 3, 4)))
static void problem(struct verify *v, uint64_t pos, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	v->problems++;
	if (v->report)
		v->report(v->ctx, v->path, pos, msg);
}

/* What verification remembers of each batch, to check the indexes. */
struct bref {
	uint64_t position;
	int64_t base_offset, last_offset;
	int64_t max_so_far;   /* largest maxTimestamp up to this batch */
	int64_t max_ts;       /* this batch's maxTimestamp */
};

/*
 * index_file_ok says whether the index file at v->path can be checked: a
 * regular file or none (indexes are derived data, a missing one is
 * rebuilt).  Anything else there (a directory, a symbolic link, a FIFO)
 * is a problem, since no tool uses it and no writer can replace it.
 */
static int index_file_ok(struct verify *v)
{
	struct stat st;
	if (lstat(v->path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		problem(v, 0, "cannot examine: %s", strerror(errno));
		return 0;
	}
	if (S_ISREG(st.st_mode))
		return 1;
	problem(v, 0, "not a regular file but %s; it is ignored, and writers "
	        "cannot rebuild it", S_ISDIR(st.st_mode) ? "a directory"
	        : S_ISLNK(st.st_mode) ? "a symbolic link"
	        : S_ISFIFO(st.st_mode) ? "a FIFO"
	        : S_ISSOCK(st.st_mode) ? "a socket" : "a device");
	return 0;
}

/*
 * log_now returns the size of the active segment's .log (open as fd) now,
 * after its indexes were read, or 0 for a closed segment (fd < 0).  A
 * writer appends a batch before its index entries, so every entry read
 * before this size was taken is for a batch below it.
 */
static uint64_t log_now(int fd)
{
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return 0;
	return (uint64_t)st.st_size;
}

/*
 * size_moves says whether the file at path no longer has size bytes after
 * a few short waits: a trailing partial entry in an index of the active
 * segment is then an entry still being written (a 12-byte .timeindex entry
 * may straddle a page), not damage.
 */
static int size_moves(const char *path, uint64_t size)
{
	for (int i = 0; i < 5; i++) {
		struct timespec ts = { 0, 1000000 };
		struct stat st;
		nanosleep(&ts, NULL);
		if (stat(path, &st) < 0 || (uint64_t)st.st_size != size)
			return 1;
	}
	return 0;
}

/*
 * verify_indexes checks the indexes of segment base against the batches
 * b[0..nb) that the scan found below log_size.  For the active segment,
 * log_fd is its open .log: entries past the scan that the log has grown to
 * hold since were written after it and are not checked.
 */
static void verify_indexes(struct verify *v, const char *dir, int64_t base,
                           const struct bref *b, size_t nb, uint64_t log_size,
                           int torn, int log_fd)
{
	mq_idx *ie;
	mq_tidx *te;
	size_t ni, nt;
	uint64_t now;
	if (mq_seg_path(v->path, sizeof v->path, dir, base, ".index") < 0)
		return;
	if (!index_file_ok(v))
		;
	else if (mq_index_load(v->path, base, &ie, &ni) < 0)
		problem(v, 0, "cannot read: %s", mq_errmsg());
	else {
		now = log_now(log_fd);
		uint64_t fsz = file_size(dir, base, ".index");
		if (fsz % MQ_INDEX_ENTRY && log_fd >= 0 && size_moves(v->path, fsz))
			;
		else if (fsz % MQ_INDEX_ENTRY)
			problem(v, fsz - fsz % MQ_INDEX_ENTRY,
			        "index size %" PRIu64 " is not a multiple of %d", fsz,
			        MQ_INDEX_ENTRY);
		size_t j = 0;
		for (size_t i = 0; i < ni; i++) {
			uint64_t at = i * MQ_INDEX_ENTRY;
			if (i > 0 && (ie[i].offset <= ie[i - 1].offset ||
			              ie[i].position <= ie[i - 1].position)) {
				problem(v, at, "index entry %zu (offset %" PRId64 ", position %"
				        PRIu64 ") is not after the previous one", i,
				        ie[i].offset, ie[i].position);
				continue;
			}
			/* Entries for a torn tail go when the next writer truncates it. */
			if (torn && ie[i].position >= log_size)
				continue;
			/* Appended after the scan. */
			if (ie[i].position >= log_size && ie[i].position < now)
				continue;
			while (j < nb && b[j].position < ie[i].position)
				j++;
			if (j == nb || b[j].position != ie[i].position || ie[i].position >= log_size)
				problem(v, at, "index entry %zu points at position %" PRIu64
				        ", where no batch starts", i, ie[i].position);
			else if (ie[i].offset < b[j].base_offset ||
			         ie[i].offset > b[j].last_offset)
				problem(v, at, "index entry %zu says offset %" PRId64
				        " but the batch at position %" PRIu64 " holds %" PRId64
				        "..%" PRId64, i, ie[i].offset, ie[i].position,
				        b[j].base_offset, b[j].last_offset);
		}
		free(ie);
	}
	if (mq_seg_path(v->path, sizeof v->path, dir, base, ".timeindex") < 0)
		return;
	if (!index_file_ok(v))
		;
	else if (mq_timeindex_load(v->path, base, &te, &nt) < 0)
		problem(v, 0, "cannot read: %s", mq_errmsg());
	else {
		now = log_now(log_fd);
		uint64_t fsz = file_size(dir, base, ".timeindex");
		if (fsz % MQ_TIMEINDEX_ENTRY && log_fd >= 0 &&
		    size_moves(v->path, fsz))
			;
		else if (fsz % MQ_TIMEINDEX_ENTRY)
			problem(v, fsz - fsz % MQ_TIMEINDEX_ENTRY,
			        "timeindex size %" PRIu64 " is not a multiple of %d", fsz,
			        MQ_TIMEINDEX_ENTRY);
		int64_t last = nb ? b[nb - 1].last_offset : base - 1;
		for (size_t i = 0; i < nt; i++) {
			uint64_t at = i * MQ_TIMEINDEX_ENTRY;
			if (i > 0 && (te[i].timestamp < te[i - 1].timestamp ||
			              te[i].offset < te[i - 1].offset)) {
				problem(v, at, "timeindex entry %zu goes backwards", i);
				continue;
			}
			/* A torn tail's, or appended after the scan. */
			if (te[i].offset > last && (torn || now > log_size))
				continue;
			if (te[i].offset > last) {
				problem(v, at, "timeindex entry %zu names offset %" PRId64
				        ", past the segment's last offset %" PRId64, i,
				        te[i].offset, last);
				continue;
			}
			/* Records up to the entry's offset must not be newer than
			 * it, and (Kafka's rule) the batch holding that offset
			 * has the entry's timestamp. */
			int64_t max_so_far = -1;
			const struct bref *hold = NULL;
			for (size_t k = 0; k < nb && b[k].base_offset <= te[i].offset; k++) {
				if (b[k].last_offset <= te[i].offset)
					max_so_far = b[k].max_so_far;
				if (b[k].last_offset >= te[i].offset)
					hold = &b[k];
			}
			if (te[i].timestamp < max_so_far)
				problem(v, at, "timeindex entry %zu says %" PRId64 " but records "
				        "up to offset %" PRId64 " reach timestamp %" PRId64, i,
				        te[i].timestamp, te[i].offset, max_so_far);
			else if (!hold)
				problem(v, at, "timeindex entry %zu names offset %" PRId64
				        ", which no batch holds", i, te[i].offset);
			else if (hold->max_ts != te[i].timestamp)
				problem(v, at, "timeindex entry %zu says %" PRId64 " but the "
				        "batch holding offset %" PRId64 " has maxTimestamp %"
				        PRId64, i, te[i].timestamp, te[i].offset, hold->max_ts);
		}
		free(te);
	}
}

static int verify_segment(struct verify *v, const char *dir, int64_t base,
                          int last_segment, int allow_gaps, int64_t *expect)
{
	int fd = -1; /* set when open_log succeeds; -O3 cannot tell */
	int rc = open_log(dir, base, &fd);
	int err = errno;
	if (mq_seg_path(v->path, sizeof v->path, dir, base, ".log") < 0) {
		if (rc == MQ_OK)
			close(fd);
		return MQ_EINVAL;
	}
	if (rc < 0 && err == ENOENT) {
		/* Listed, then removed (retention): nothing to check, and
		 * the offsets before the next segment are not known. */
		*expect = -1;
		return MQ_OK;
	}
	if (rc < 0) {
		problem(v, 0, "cannot open: %s", strerror(err));
		return MQ_OK;
	}
	/* Only the bytes there now are checked: a writer may append more. */
	struct stat st;
	if (fstat(fd, &st) < 0) {
		problem(v, 0, "cannot examine: %s", strerror(errno));
		close(fd);
		return MQ_OK;
	}
	uint64_t size = (uint64_t)st.st_size;
	struct bref *refs = NULL;
	size_t nb = 0, cap = 0;
	int64_t max_so_far = -1;
	mq_scan sc;
	mq_scan_init(&sc, fd, 0);
	if (*expect > base)
		problem(v, 0, "segment base offset %" PRId64 " is below the previous "
		        "segment's next offset %" PRId64, base, *expect);
	if (*expect < base && *expect >= 0 && !allow_gaps &&
	    !mq_repair_gap_noted(dir, base)) /* set aside by mq-repair */
		problem(v, 0, "offsets %" PRId64 "..%" PRId64 " are missing before "
		        "this segment", *expect, base - 1);
	int64_t prev = base - 1;
	uint64_t end = 0;
	int torn = 0;
	for (;;) {
		const uint8_t *b;
		mq_batch_info info;
		rc = mq_scan_next(&sc, &b, &info);
		if (sc.pos >= size) {
			rc = 0; /* appended after the snapshot */
			break;
		}
		/* A batch (or header) reaching past the snapshot was still
		 * being written: incomplete, as if the file ended there. */
		uint64_t stop = sc.eof_at < size ? sc.eof_at : size;
		if ((rc == 1 && sc.pos + info.length + MQ_BATCH_LOG_OVERHEAD > size) ||
		    (rc == MQ_ECORRUPT && sc.pos + MQ_BATCH_HEADER > size))
			rc = 0;
		if (rc == 0) {
			/* In the last segment an incomplete batch is "not yet written"
			 * (or a torn tail the next writer truncates): not a problem,
			 * unless a valid batch follows it, which makes it corruption
			 * the writer refuses to truncate (the writer's own rule). */
			if (sc.pos < stop) {
				if (!last_segment)
					problem(v, sc.pos, "incomplete batch: %" PRIu64 " bytes after "
					        "the last complete batch of a closed segment",
					        stop - sc.pos);
				else if (fstat(fd, &st) == 0 && (uint64_t)st.st_size < size)
					torn = 1; /* a writer's recovery cut it meanwhile */
				else if (mq_valid_batch_follows(fd, sc.pos, size))
					problem(v, sc.pos, "incomplete batch followed by valid "
					        "batches: the batch length is damaged; the rest "
					        "of the segment cannot be read");
				else
					torn = 1;
			}
			break;
		}
		if (rc == MQ_ECORRUPT) {
			problem(v, sc.pos, "invalid batch header; the rest of the segment "
			        "cannot be read");
			break;
		}
		if (rc < 0)
			break;
		size_t len = (size_t)info.length + MQ_BATCH_LOG_OVERHEAD;
		if (!mq_batch_check_crc(b, len))
			problem(v, sc.pos, "CRC mismatch in batch at offset %" PRId64 " (stored "
			        "0x%08x)", info.base_offset, info.crc);
		else {
			mq_rec_iter it;
			memset(&it, 0, sizeof it);
			int r2 = mq_rec_iter_start(&it, b, len, &info);
			mq_record rec;
			while (r2 >= 0 && (r2 = mq_rec_iter_next(&it, &rec)) == 1)
				;
			if (r2 == MQ_ECODEC)
				; /* a codec mq cannot decode is not corruption */
			else if (r2 < 0)
				problem(v, sc.pos, "%s", mq_errmsg());
			mq_rec_iter_free(&it);
		}
		if (info.base_offset <= prev)
			problem(v, sc.pos, "batch offset %" PRId64 " is not above the "
			        "previous batch's last offset %" PRId64, info.base_offset, prev);
		else if (info.base_offset != prev + 1 && !allow_gaps)
			problem(v, sc.pos, "offsets %" PRId64 "..%" PRId64 " are missing",
			        prev + 1, info.base_offset - 1);
		if (info.base_offset > prev)
			prev = info.last_offset;
		if (info.max_timestamp > max_so_far)
			max_so_far = info.max_timestamp;
		if (nb == cap) {
			cap = cap ? cap * 2 : 256;
			struct bref *nr = realloc(refs, cap * sizeof *refs);
			if (!nr) {
				rc = mq_fail(MQ_ENOMEM, "verifying '%s'", v->path);
				break;
			}
			refs = nr;
		}
		refs[nb++] = (struct bref){ sc.pos, info.base_offset, info.last_offset,
		                            max_so_far, info.max_timestamp };
		mq_scan_skip(&sc, &info);
		end = sc.pos;
	}
	mq_scan_free(&sc);
	if (rc >= 0 || rc == MQ_ECORRUPT) {
		verify_indexes(v, dir, base, refs, nb, end, torn,
		               last_segment ? fd : -1);
		rc = MQ_OK;
	}
	close(fd);
	if (prev >= base)
		*expect = prev + 1;
	else if (*expect < base)
		*expect = base;
	free(refs);
	return rc;
}

/*
 * mq_verify_partition: see mq.h.  It takes no lock, so a writer may append
 * while it runs: each .log is checked up to its size when opened, and a
 * segment removed after the listing (retention) is skipped.
 */
int mq_verify_partition(mq_topic *t, int32_t p, mq_report_fn report,
                        void *ctx)
{
	char dir[PATH_MAX];
	int rc = mq_partition_path(t, p, dir, sizeof dir);
	if (rc < 0)
		return rc;
	int64_t *bases;
	size_t n;
	rc = mq_seg_list(dir, &bases, NULL, &n);
	if (rc < 0)
		return mq_fail_prefix(rc, "topic '%s' partition %d", t->name, p);
	struct verify v = { report, ctx, 0, "" };
	int allow_gaps = mq_gaps_allowed(&t->cfg, dir);
	int64_t expect = -1;
	for (size_t i = 0; i < n && rc >= 0; i++)
		rc = verify_segment(&v, dir, bases[i], i + 1 == n, allow_gaps, &expect);
	free(bases);
	if (rc < 0)
		return mq_fail_prefix(rc, "topic '%s' partition %d", t->name, p);
	return v.problems;
}
