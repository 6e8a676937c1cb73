/*
 * repair.c - mq_repair_partition: cutting a .log at its first bad batch
 * with the rest set aside in a file beside it, cutting a torn tail, and
 * rebuilding the damaged, missing or misplaced indexes of every segment.
 *
 * What counts as a bad batch is exactly what the writer's recovery and
 * the readers refuse (mq_segment_rescan in active.c), and the indexes are
 * rebuilt by the writer's own rule, so that after a repair readers,
 * writers and mq-inspect --verify agree that the partition is sound.
 *
 * Every file in the partition directory is reached through a descriptor
 * of that directory, opened without following symbolic links.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "active.h"
#include "codec.h"
#include "compact.h"
#include "error.h"
#include "internal.h"
#include "lock.h"
#include "repair.h"
#include "segment.h"

#define COPY_CHUNK (1u << 20)          /* bytes copied per read */
#define MAX_INDEX_BYTES (256u << 20)   /* a larger index is rebuilt */
#define TMP_PREFIX ".mq-repair-"       /* temporary files, see clean_temps */
#define NAME_LEN 96                    /* segment file names and suffixes */

struct repair {
	mq_topic *t;
	int32_t p;
	char dir[PATH_MAX];
	int dfd;                 /* the partition directory */
	int dry;
	mq_repair_fn report;
	void *ctx;
	int actions;
	int renamed;             /* the directory needs an fsync */
	unsigned tmp_seq;
};

/* fail_io records a failed system call on file name of the partition. */
static int fail_io(struct repair *r, const char *what, const char *name)
{
	return mq_fail(MQ_EIO, "topic '%s' partition %d: %s '%s/%s'", r->t->name,
	               r->p, what, r->dir, name);
}

static void emit(struct repair *r, const mq_repair_action *a)
{
	r->actions++;
	if (r->report)
		r->report(r->ctx, a);
}

/* clean_temps removes temporary files a crashed repair left behind. */
static int clean_temps(struct repair *r)
{
	int fd = openat(r->dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return fail_io(r, "cannot read", ".");
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return fail_io(r, "cannot read", ".");
	}
	struct dirent *de;
	int rc = MQ_OK;
	while ((de = readdir(d)))
		if (strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0 &&
		    unlinkat(r->dfd, de->d_name, 0) < 0 && errno != ENOENT) {
			rc = fail_io(r, "cannot remove", de->d_name);
			break;
		}
	closedir(d);
	return rc;
}

/* make_temp creates a new, empty temporary file and returns its fd. */
static int make_temp(struct repair *r, char *name, size_t len)
{
	for (int tries = 0; tries < 1000; tries++) {
		snprintf(name, len, TMP_PREFIX "%ld-%u", (long)getpid(),
		         r->tmp_seq++);
		int fd = openat(r->dfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
		                O_CLOEXEC, 0644);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST)
			return fail_io(r, "cannot create", name);
	}
	errno = EEXIST;
	return fail_io(r, "cannot create a temporary file in", ".");
}

/*
 * install syncs and closes the temporary file fd and renames it to name,
 * replacing what is there unless noreplace is set (then an existing name
 * is MQ_EIO with errno EEXIST).  The temporary file is gone either way.
 */
static int install(struct repair *r, int fd, const char *tmp, const char *name,
                   int noreplace)
{
	int ok = fsync(fd) == 0;
	int e = errno;
	if (close(fd) < 0 && ok) {
		ok = 0;
		e = errno;
	}
	if (ok && !noreplace)
		ok = renameat(r->dfd, tmp, r->dfd, name) == 0;
	else if (ok) {
		ok = renameat2(r->dfd, tmp, r->dfd, name, RENAME_NOREPLACE) == 0;
		if (!ok && (errno == EINVAL || errno == ENOSYS))
			ok = linkat(r->dfd, tmp, r->dfd, name, 0) == 0; /* no renameat2 */
	}
	if (!ok)
		e = errno;
	unlinkat(r->dfd, tmp, 0); /* fails harmlessly after a rename */
	if (!ok) {
		errno = e;
		return fail_io(r, "cannot write", name);
	}
	r->renamed = 1;
	return MQ_OK;
}

/* read_at reads exactly len bytes at pos; -1 with errno (EIO for EOF). */
static int read_at(int fd, void *buf, size_t len, uint64_t pos)
{
	uint8_t *p = buf;
	while (len > 0) {
		ssize_t n = pread(fd, p, len, (off_t)pos);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
		pos += (uint64_t)n;
	}
	return 0;
}

/* replace_file writes data to name through a temporary file. */
static int replace_file(struct repair *r, const char *name, const mq_buf *data)
{
	char tmp[NAME_LEN];
	int fd = make_temp(r, tmp, sizeof tmp);
	if (fd < 0)
		return fd;
	if (data->len && mq_write_all(fd, data->data, data->len) < 0) {
		int e = errno;
		close(fd);
		unlinkat(r->dfd, tmp, 0);
		errno = e;
		return fail_io(r, "cannot write", name);
	}
	return install(r, fd, tmp, name, 0);
}

/*
 * same_bytes says whether the regular file name holds exactly the bytes
 * [from, to) of fd.  Returns 1, 0, or a negative MQ_E* code.
 */
static int same_bytes(struct repair *r, const char *name, int fd,
                      uint64_t from, uint64_t to, uint8_t *a, uint8_t *b)
{
	int other = openat(r->dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (other < 0)
		return 0; /* a symbolic link or not readable: not ours */
	struct stat st;
	int same = fstat(other, &st) == 0 && S_ISREG(st.st_mode) &&
	           (uint64_t)st.st_size == to - from;
	for (uint64_t at = 0; same && at < to - from; at += COPY_CHUNK) {
		size_t n = to - from - at < COPY_CHUNK ? (size_t)(to - from - at)
		                                       : COPY_CHUNK;
		if (read_at(fd, a, n, from + at) < 0) {
			close(other);
			return fail_io(r, "cannot read", name);
		}
		same = read_at(other, b, n, at) == 0 && memcmp(a, b, n) == 0;
	}
	close(other);
	return same;
}

/*
 * aside_name picks the name for what is set aside from file (the bytes
 * [from, to) of fd, or with fd < 0 a non-regular entry): file.damaged-POS
 * for a .log and file.damaged for an index, with ".N" added while the
 * name is taken.  *done is set when the name already holds those bytes
 * (a repair that crashed before it cut the .log).
 */
static int aside_name(struct repair *r, const char *file, int fd, uint64_t from,
                      uint64_t to, char *out, size_t len, int *done)
{
	char stem[64];
	uint8_t *a = NULL, *b = NULL;
	int rc = MQ_OK;
	*done = 0;
	if (fd >= 0)
		snprintf(stem, sizeof stem, "%s" MQ_DAMAGED_SUFFIX "%" PRIu64, file,
		         from);
	else
		snprintf(stem, sizeof stem, "%s.damaged", file);
	if (fd >= 0 && (!(a = malloc(COPY_CHUNK)) || !(b = malloc(COPY_CHUNK)))) {
		rc = mq_fail(MQ_ENOMEM, "topic '%s' partition %d: repairing '%s'",
		             r->t->name, r->p, file);
		goto out;
	}
	for (unsigned n = 0;; n++) {
		if (n == 0)
			snprintf(out, len, "%s", stem);
		else
			snprintf(out, len, "%s.%u", stem, n);
		struct stat st;
		if (fstatat(r->dfd, out, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				break;
			rc = fail_io(r, "cannot stat", out);
			break;
		}
		if (fd >= 0 && (rc = same_bytes(r, out, fd, from, to, a, b)) != 0) {
			*done = rc == 1;
			if (rc == 1)
				rc = MQ_OK;
			break;
		}
		if (n >= 10000) {
			errno = EEXIST;
			rc = fail_io(r, "no free name for", stem);
			break;
		}
	}
out:
	free(a);
	free(b);
	return rc;
}

/*
 * set_aside copies the bytes [from, to) of fd into the new file name,
 * durably (the file and the directory entry) before returning.
 */
static int set_aside(struct repair *r, int fd, uint64_t from, uint64_t to,
                     const char *name)
{
	char tmp[NAME_LEN];
	uint8_t *buf = malloc(COPY_CHUNK);
	if (!buf)
		return mq_fail(MQ_ENOMEM, "topic '%s' partition %d: writing '%s'",
		               r->t->name, r->p, name);
	int out = make_temp(r, tmp, sizeof tmp);
	if (out < 0) {
		free(buf);
		return out;
	}
	for (uint64_t at = from; at < to; at += COPY_CHUNK) {
		size_t n = to - at < COPY_CHUNK ? (size_t)(to - at) : COPY_CHUNK;
		if (read_at(fd, buf, n, at) < 0 || mq_write_all(out, buf, n) < 0) {
			int e = errno;
			free(buf);
			close(out);
			unlinkat(r->dfd, tmp, 0);
			errno = e;
			return fail_io(r, "cannot set aside the damaged bytes in", name);
		}
	}
	free(buf);
	int rc = install(r, out, tmp, name, 1);
	if (rc == MQ_OK && fsync(r->dfd) < 0)
		rc = fail_io(r, "cannot fsync", ".");
	return rc;
}

/*
 * collect lists the valid batches in [0, end) of fd (mq_segment_rescan
 * checked them) and counts them and their records (control batches'
 * records not counted, as readers skip them).
 */
static int collect(struct repair *r, int fd, uint64_t end, struct mq_bref **out,
                   size_t *nb, int64_t *records)
{
	mq_scan sc;
	mq_scan_init(&sc, fd, 0);
	struct mq_bref *v = NULL;
	size_t n = 0, cap = 0;
	int64_t max_so_far = -1;
	int rc = MQ_OK;
	*records = 0;
	while (sc.pos < end) {
		const uint8_t *b;
		mq_batch_info info;
		rc = mq_scan_next(&sc, &b, &info);
		if (rc != 1) {
			rc = rc < 0 ? rc : mq_fail(MQ_EIO, "segment shrank while read");
			break;
		}
		rc = MQ_OK;
		if (n == cap) {
			cap = cap ? 2 * cap : 256;
			struct mq_bref *nv = realloc(v, cap * sizeof *v);
			if (!nv) {
				rc = mq_fail(MQ_ENOMEM, "repairing '%s'", r->dir);
				break;
			}
			v = nv;
		}
		if (info.max_timestamp > max_so_far)
			max_so_far = info.max_timestamp;
		v[n++] = (struct mq_bref){ info.position, info.base_offset,
		                        info.last_offset, max_so_far,
		                        info.max_timestamp };
		if (!info.control)
			*records += info.count;
		mq_scan_skip(&sc, &info);
	}
	mq_scan_free(&sc);
	if (rc < 0) {
		free(v);
		return mq_fail_prefix(rc, "topic '%s' partition %d", r->t->name, r->p);
	}
	*out = v;
	*nb = n;
	return MQ_OK;
}

/*
 * index_state examines the index file name: 0 when it is consistent with
 * the batches, 1 when it must be rebuilt (why says why; *nonreg is set if
 * it is not a regular file), or a negative MQ_E* code.
 */
static int index_state(struct repair *r, const char *name, size_t entry,
                       int64_t base, const struct mq_bref *b, size_t nb,
                       char *why, size_t whylen, int *nonreg)
{
	struct stat st;
	*nonreg = 0;
	if (fstatat(r->dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			return fail_io(r, "cannot stat", name);
		snprintf(why, whylen, "missing");
		return 1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "not a regular file");
		*nonreg = 1;
		return 1;
	}
	if ((uint64_t)st.st_size > MAX_INDEX_BYTES) {
		snprintf(why, whylen, "%" PRIu64 " bytes is too large",
		         (uint64_t)st.st_size);
		return 1;
	}
	int fd = openat(r->dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return fail_io(r, "cannot open", name);
	size_t len = (size_t)st.st_size;
	uint8_t *d = malloc(len ? len : 1);
	if (!d) {
		close(fd);
		return mq_fail(MQ_ENOMEM, "reading '%s/%s'", r->dir, name);
	}
	/* A file shorter than its size a moment ago fails the size rule. */
	ssize_t got = 0;
	while ((size_t)got < len) {
		ssize_t n = pread(fd, d + got, len - (size_t)got, got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			free(d);
			close(fd);
			errno = e;
			return fail_io(r, "cannot read", name);
		}
		if (n == 0)
			break;
		got += n;
	}
	close(fd);
	mq_index_check(d, (size_t)got, entry, base, b, nb, why, whylen);
	free(d);
	return why[0] != '\0';
}

/* repair_index rebuilds one index of segment base if it needs it. */
static int repair_index(struct repair *r, int64_t base, const char *ext,
                        size_t entry, const mq_buf *data, const struct mq_bref *b,
                        size_t nb, int cut)
{
	char name[NAME_LEN], aside[NAME_LEN], why[160];
	int nonreg = 0, rc;
	snprintf(name, sizeof name, "%020" PRId64 "%s", base, ext);
	if (cut) {
		/* Rebuilt either way; what is not a regular file still goes
		 * aside first, as below. */
		struct stat st;
		snprintf(why, sizeof why, "the log was cut");
		if (fstatat(r->dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    !S_ISREG(st.st_mode))
			nonreg = 1;
		rc = 1;
	} else {
		rc = index_state(r, name, entry, base, b, nb, why, sizeof why, &nonreg);
	}
	if (rc <= 0)
		return rc;
	mq_repair_action a = { .kind = MQ_REPAIR_INDEX, .file = name,
	                       .base_offset = base, .why = why };
	if (nonreg) {
		int done;
		if ((rc = aside_name(r, name, -1, 0, 0, aside, sizeof aside,
		                     &done)) < 0)
			return rc;
		a.aside = aside;
		if (!r->dry && renameat2(r->dfd, name, r->dfd, aside,
		                         RENAME_NOREPLACE) < 0)
			return fail_io(r, "cannot move aside", name);
	}
	if (!r->dry && (rc = replace_file(r, name, data)) < 0)
		return rc;
	emit(r, &a);
	return MQ_OK;
}

/* repair_segment repairs segment base; last says it is the active one. */
static int repair_segment(struct repair *r, int64_t base, int last)
{
	char name[NAME_LEN], aside[NAME_LEN];
	snprintf(name, sizeof name, "%020" PRId64 ".log", base);
	int fd = openat(r->dfd, name, (r->dry ? O_RDONLY : O_RDWR) | O_NOFOLLOW |
	                O_CLOEXEC);
	if (fd < 0 && errno == ELOOP)
		return mq_fail(MQ_EINVAL, "'%s/%s' is a symbolic link; refusing to "
		               "follow it", r->dir, name);
	if (fd < 0)
		return fail_io(r, "cannot open", name);
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return fail_io(r, "cannot stat", name);
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return mq_fail(MQ_EINVAL, "topic '%s' partition %d: '%s/%s' is not "
		               "a regular file", r->t->name, r->p, r->dir, name);
	}
	const mq_config *cfg = &r->t->cfg;
	mq_rescan rs;
	struct mq_bref *refs = NULL;
	size_t nb = 0;
	int64_t records = 0;
	int rc = mq_segment_rescan(fd, base, cfg->index_interval_bytes,
	                           mq_gaps_allowed(cfg, r->dir), !last, &rs);
	if (rc < 0) {
		close(fd);
		return mq_fail_prefix(rc, "topic '%s' partition %d: %s", r->t->name,
		                      r->p, name);
	}
	rc = collect(r, fd, rs.end, &refs, &nb, &records);
	int cut = rc == MQ_OK && rs.bad_why != NULL;
	if (cut) {
		uint64_t size = (uint64_t)st.st_size;
		mq_repair_action a = { .kind = MQ_REPAIR_DAMAGE, .file = name,
		                       .base_offset = base, .why = rs.bad_why,
		                       .position = rs.end, .offset = rs.next_offset,
		                       .batches = (int64_t)nb, .records = records,
		                       .bytes = size - rs.end };
		if (last && rs.incomplete && !rs.follows) {
			a.kind = MQ_REPAIR_TORN;
		} else {
			int done = 0;
			rc = aside_name(r, name, fd, rs.end, size, aside, sizeof aside,
			                &done);
			a.aside = aside;
			if (rc == MQ_OK && !r->dry && !done)
				rc = set_aside(r, fd, rs.end, size, aside);
		}
		if (rc == MQ_OK && !r->dry &&
		    (ftruncate(fd, (off_t)rs.end) < 0 || fsync(fd) < 0))
			rc = fail_io(r, "cannot truncate", name);
		if (rc == MQ_OK)
			emit(r, &a);
	}
	close(fd);
	if (rc == MQ_OK)
		rc = repair_index(r, base, ".index", MQ_INDEX_ENTRY, &rs.idx, refs,
		                  nb, cut);
	if (rc == MQ_OK)
		rc = repair_index(r, base, ".timeindex", MQ_TIMEINDEX_ENTRY, &rs.tidx,
		                  refs, nb, cut);
	free(refs);
	mq_buf_free(&rs.idx);
	mq_buf_free(&rs.tidx);
	return rc;
}

/* repair_locked does the work once the locks are held. */
static int repair_locked(struct repair *r)
{
	r->dfd = open(r->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (r->dfd < 0)
		return mq_fail(MQ_EIO, "topic '%s' partition %d: cannot open '%s'",
		               r->t->name, r->p, r->dir);
	int64_t *bases = NULL;
	size_t n = 0;
	int rc = r->dry ? MQ_OK : clean_temps(r);
	if (rc == MQ_OK && (rc = mq_seg_list(r->dir, &bases, NULL, &n)) < 0)
		rc = mq_fail_prefix(rc, "topic '%s' partition %d", r->t->name, r->p);
	for (size_t i = 0; rc == MQ_OK && i < n; i++)
		rc = repair_segment(r, bases[i], i + 1 == n);
	free(bases);
	if (r->renamed && fsync(r->dfd) < 0 && rc == MQ_OK)
		rc = fail_io(r, "cannot fsync", ".");
	close(r->dfd);
	return rc;
}

int mq_repair_partition(mq_topic *t, int32_t p, int flags,
                        mq_repair_fn report, void *ctx)
{
	struct repair r;
	mq_release_locks(t);
	memset(&r, 0, sizeof r);
	r.t = t;
	r.p = p;
	r.dry = (flags & MQ_REPAIR_DRY_RUN) != 0;
	r.report = report;
	r.ctx = ctx;
	r.dfd = -1;
	int rc = mq_partition_path(t, p, r.dir, sizeof r.dir);
	if (rc < 0)
		return rc;
	/* A compaction must not swap files under us: same order as it takes. */
	int cleaner = -1, lock = -1;
	if (!r.dry && (t->cfg.cleanup_policy & MQ_CLEANUP_COMPACT) &&
	    (cleaner = mq_lock_file(r.dir, MQ_CLEANER_LOCK_FILE, flags & MQ_NOWAIT,
	                            "another mq-compact")) < 0)
		rc = cleaner;
	if (rc == MQ_OK && (lock = mq_lock_dir(r.dir, flags & MQ_NOWAIT)) < 0)
		rc = lock;
	struct stat st;
	if (rc == MQ_EIO && errno == ENOENT)
		rc = mq_fail(MQ_ENOTOPIC, "topic '%s' partition %d was deleted",
		             t->name, p);
	else if (rc < 0)
		rc = mq_fail_prefix(rc, "topic '%s' partition %d", t->name, p);
	else if (fstat(lock, &st) == 0 && st.st_nlink == 0)
		rc = mq_fail(MQ_ENOTOPIC, "topic '%s' partition %d was deleted",
		             t->name, p);
	else
		rc = repair_locked(&r);
	mq_unlock(lock);
	mq_unlock(cleaner);
	return rc < 0 ? rc : r.actions;
}

int mq_repair_gap_noted(const char *dir, int64_t base)
{
	int64_t *bases;
	size_t n;
	if (mq_seg_list(dir, &bases, NULL, &n) < 0)
		return 0;
	int64_t prev = -1;
	for (size_t i = 1; i < n; i++)
		if (bases[i] == base)
			prev = bases[i - 1];
	free(bases);
	char path[PATH_MAX];
	struct stat st;
	if (prev < 0 ||
	    snprintf(path, sizeof path, "%s/%020" PRId64 ".log", dir, prev) >=
	    (int)sizeof path || lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	if (snprintf(path, sizeof path, "%s/%020" PRId64 ".log" MQ_DAMAGED_SUFFIX
	             "%" PRIu64, dir, prev, (uint64_t)st.st_size) >= (int)sizeof path ||
	    lstat(path, &st) < 0)
		return 0;
	return S_ISREG(st.st_mode);
}
