/*
 * fuzz_index_repair.h - the mode 2 steps of fuzz_index.c: repair (with a
 * dry run and a staged crashed repair), rescan, and a log start moved
 * under an open reader, with the invariants each must keep.  Included
 * once, by fuzz_index.c, after its helpers (fi_part, fi_env,
 * fi_report, fi_walk, ...), which these functions use.
 */
#ifndef FUZZ_INDEX_REPAIR_H
#define FUZZ_INDEX_REPAIR_H

/* fi_hash_dir sums a hash of every entry of the partition directory (its
 * name, type, size and bytes), so that a changed file changes the sum. */
static uint64_t fi_hash_dir(void)
{
	DIR *d = opendir(fi_part);
	struct dirent *de;
	char path[PATH_MAX + 300];
	uint8_t buf[4096];
	uint64_t sum = 0;

	FUZZ_CHECK(d != NULL);
	while ((de = readdir(d))) {
		struct stat st;
		uint64_t h = 1469598103934665603ull;
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", fi_part, de->d_name);
		FUZZ_CHECK(lstat(path, &st) == 0);
		for (const char *c = de->d_name; *c; c++)
			h = (h ^ (uint8_t)*c) * 1099511628211ull;
		h = (h ^ (uint64_t)st.st_mode) * 1099511628211ull;
		h = (h ^ (uint64_t)st.st_size) * 1099511628211ull;
		if (S_ISREG(st.st_mode)) {
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			ssize_t n;
			FUZZ_CHECK(fd >= 0);
			while ((n = read(fd, buf, sizeof buf)) > 0)
				for (ssize_t i = 0; i < n; i++)
					h = (h ^ buf[i]) * 1099511628211ull;
			FUZZ_CHECK(n == 0);
			close(fd);
		}
		sum += h;
	}
	closedir(d);
	return sum;
}

/* fi_size returns the size of file name of the partition, or -1. */
static int64_t fi_size(const char *name)
{
	char path[PATH_MAX + 300];
	struct stat st;

	snprintf(path, sizeof path, "%s/%s", fi_part, name);
	if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return -1;
	return st.st_size;
}

/* What a repair announced: the cuts, to check them afterwards. */
struct fi_repair {
	int actions;
	int ncut;
	struct {
		int kind;
		int64_t base;
		uint64_t position, bytes;
		char file[64], aside[96];
	} cut[2];
};

static void fi_repair_report(void *ctx, const mq_repair_action *a)
{
	struct fi_repair *fr = ctx;

	FUZZ_CHECK(a->kind == MQ_REPAIR_DAMAGE || a->kind == MQ_REPAIR_TORN ||
	           a->kind == MQ_REPAIR_INDEX);
	FUZZ_CHECK(a->file != NULL && a->why != NULL && a->why[0] != '\0');
	if (fi_verbose)
		fprintf(stderr, "repair: %d %s: %s (at %llu, aside %s)\n",
		        a->kind, a->file, a->why,
		        (unsigned long long)a->position,
		        a->aside ? a->aside : "-");
	fr->actions++;
	if (a->kind == MQ_REPAIR_INDEX)
		return;
	FUZZ_CHECK(a->batches >= 0 && a->records >= 0 && a->bytes > 0);
	FUZZ_CHECK(a->kind == MQ_REPAIR_TORN || a->aside != NULL);
	FUZZ_CHECK(fr->ncut < 2);
	fr->cut[fr->ncut].kind = a->kind;
	fr->cut[fr->ncut].base = a->base_offset;
	fr->cut[fr->ncut].position = a->position;
	fr->cut[fr->ncut].bytes = a->bytes;
	snprintf(fr->cut[fr->ncut].file, sizeof fr->cut[0].file, "%s",
	         a->file);
	snprintf(fr->cut[fr->ncut].aside, sizeof fr->cut[0].aside, "%s",
	         a->kind == MQ_REPAIR_DAMAGE ? a->aside : "");
	fr->ncut++;
}

/*
 * fi_after_repair is verify's report after a repair: a problem repair
 * promises to fix aborts.  What it leaves are offsets missing or
 * overlapping between segments (it cuts inside segments only) and
 * records that cannot be decoded inside a batch whose header and CRC are
 * good (it checks batches, not records).
 */
static void fi_after_repair(void *ctx, const char *file, uint64_t position,
                            const char *problem)
{
	size_t n = strlen(file);

	++*(int *)ctx;
	if (fi_verbose)
		fprintf(stderr, "verify after repair: %s@%llu: %s\n", file,
		        (unsigned long long)position, problem);
	if (n > 4 && strcmp(file + n - 4, ".log") == 0 &&
	    (strncmp(problem, "batch at offset ", 16) == 0 ||
	     (position == 0 &&
	      (strncmp(problem, "segment base offset ", 20) == 0 ||
	       strstr(problem, " missing before this segment") != NULL))))
		return;
	fprintf(stderr, "verify after repair: %s at %llu: %s\n", file,
	        (unsigned long long)position, problem);
	abort();
}

/*
 * fi_rescan runs mq_segment_rescan on segment base and checks what it
 * says; with clean set the segment must have no bad batch.  Returns the
 * result (the caller frees its buffers) and the .log's size.
 */
static void fi_rescan(int64_t base, int last, int clean, mq_rescan *rs,
                      uint64_t *size)
{
	char path[PATH_MAX];
	struct stat st;
	int fd, rc;

	FUZZ_CHECK(mq_seg_path(path, sizeof path, fi_part, base, ".log") == 0);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	FUZZ_CHECK(fd >= 0 && fstat(fd, &st) == 0);
	*size = (uint64_t)st.st_size;
	rc = mq_segment_rescan(fd, base, 64, 0, !last, rs);
	close(fd);
	FUZZ_CHECK(rc == MQ_OK || rc == MQ_ENOMEM);
	if (rc < 0) {
		memset(rs, 0, sizeof *rs);
		rs->bad_why = "";
		return;
	}
	FUZZ_CHECK(rs->end <= *size);
	FUZZ_CHECK(rs->next_offset >= base);
	FUZZ_CHECK(rs->idx.len % MQ_INDEX_ENTRY == 0);
	FUZZ_CHECK(rs->tidx.len % MQ_TIMEINDEX_ENTRY == 0);
	FUZZ_CHECK(rs->bad_why != NULL || rs->end == *size);
	FUZZ_CHECK(rs->bad_why == NULL || rs->end < *size);
	if (clean && rs->bad_why != NULL) {
		fprintf(stderr, "segment %lld after repair: %s at %llu of %llu\n",
		        (long long)base, rs->bad_why,
		        (unsigned long long)rs->end,
		        (unsigned long long)*size);
		abort();
	}
}

/*
 * fi_stage leaves in the partition what a repair that crashed leaves: a
 * temporary file and, when the first segment has damage to set aside, a
 * .damaged- file of its name holding those bytes (same set) or others.
 * Returns 1 if it wrote the set-aside copy with the same bytes, 2 with
 * other bytes, 0 if none.
 */
static int fi_stage(int64_t base, int last, int same)
{
	char path[PATH_MAX + 300], name[PATH_MAX];
	mq_rescan rs;
	uint64_t size;
	int staged = 0;

	snprintf(path, sizeof path, "%s/.mq-repair-1-0", fi_part);
	fi_write(path, (const uint8_t *)"partial", 7);
	fi_rescan(base, last, 0, &rs, &size);
	if (rs.bad_why && rs.bad_why[0] &&
	    !(last && rs.incomplete && !rs.follows)) {
		FUZZ_CHECK(mq_seg_path(name, sizeof name, fi_part, base,
		                       ".log") == 0);
		snprintf(path, sizeof path, "%s.damaged-%llu", name,
		         (unsigned long long)rs.end);
		if (same) {
			int fd = open(name, O_RDONLY | O_CLOEXEC);
			uint8_t *b = malloc(size - rs.end);
			FUZZ_CHECK(fd >= 0 && b != NULL);
			FUZZ_CHECK(pread(fd, b, size - rs.end, (off_t)rs.end) ==
			           (ssize_t)(size - rs.end));
			close(fd);
			fi_write(path, b, size - rs.end);
			free(b);
			staged = 1;
		} else {
			fi_write(path, (const uint8_t *)"other", 5);
			staged = 2;
		}
	}
	mq_buf_free(&rs.idx);
	mq_buf_free(&rs.tidx);
	return staged;
}

/* fi_repair repairs the partition (mode 2 bits 0, 1 and 3) and checks
 * what a repair promises. */
static void fi_repair(int mode2, int pick, const int64_t *bases, int nseg)
{
	struct fi_repair fr, again;
	mq_topic *t;
	mq_reader *r;
	mq_rescan rs;
	uint64_t size, before = 0;
	int staged = 0, dry = -1, problems = 0, rc;

	if (mode2 & 8) {
		char path[PATH_MAX];
		FUZZ_CHECK(mq_seg_path(path, sizeof path, fi_part,
		                       bases[nseg - 1], pick & 0x80 ?
		                       ".timeindex" : ".index") == 0);
		FUZZ_CHECK(unlink(path) == 0 || errno == ENOENT);
		FUZZ_CHECK(mkdir(path, 0755) == 0);
	}
	if (mode2 & 2) {
		for (int i = 0; i < nseg; i++) {
			fi_rescan(bases[i], i + 1 == nseg, 0, &rs, &size);
			mq_buf_free(&rs.idx);
			mq_buf_free(&rs.tidx);
		}
		staged = fi_stage(bases[0], nseg == 1, pick & 0x40);
	}
	FUZZ_CHECK(mq_topic_open(fi_env, "f", &t) == MQ_OK);
	if (mode2 & 2) {
		memset(&fr, 0, sizeof fr);
		before = fi_hash_dir();
		dry = mq_repair_partition(t, 0, MQ_REPAIR_DRY_RUN,
		                          fi_repair_report, &fr);
		FUZZ_CHECK(dry >= 0 || dry == MQ_ENOMEM);
		FUZZ_CHECK(dry < 0 || dry == fr.actions);
		FUZZ_CHECK(fi_hash_dir() == before);
	}
	memset(&fr, 0, sizeof fr);
	rc = mq_repair_partition(t, 0, 0, fi_repair_report, &fr);
	if (rc < 0 && rc != MQ_ENOMEM) {
		fprintf(stderr, "repair: %d %s\n", rc, mq_errmsg());
		abort();
	}
	if (rc < 0) {
		mq_topic_close(t);
		return;
	}
	FUZZ_CHECK(rc == fr.actions);
	FUZZ_CHECK(dry < 0 || dry == rc);

	/* What it cut is where it said, and the bytes are set aside. */
	for (int i = 0; i < fr.ncut; i++) {
		int64_t got = fi_size(fr.cut[i].file);
		FUZZ_CHECK(got >= 0 && (uint64_t)got == fr.cut[i].position);
		if (fr.cut[i].kind == MQ_REPAIR_DAMAGE) {
			got = fi_size(fr.cut[i].aside);
			FUZZ_CHECK(got >= 0 && (uint64_t)got == fr.cut[i].bytes);
		}
		if (staged && fr.cut[i].base == bases[0] &&
		    fr.cut[i].kind == MQ_REPAIR_DAMAGE) {
			/* The same bytes are taken as they are; other bytes
			 * make it pick the next name. */
			size_t n = strlen(fr.cut[i].aside);
			FUZZ_CHECK(staged == 1 ?
			           !(n > 2 && strcmp(fr.cut[i].aside + n - 2,
			                             ".1") == 0) :
			           (n > 2 && strcmp(fr.cut[i].aside + n - 2,
			                            ".1") == 0));
		}
	}
	FUZZ_CHECK(fi_size(".mq-repair-1-0") < 0);
	for (int i = 0; i < nseg; i++) {
		fi_rescan(bases[i], i + 1 == nseg, 1, &rs, &size);
		mq_buf_free(&rs.idx);
		mq_buf_free(&rs.tidx);
	}

	/* A second repair finds nothing and changes nothing. */
	memset(&again, 0, sizeof again);
	before = fi_hash_dir();
	rc = mq_repair_partition(t, 0, 0, fi_repair_report, &again);
	if (rc != 0 && rc != MQ_ENOMEM) {
		fprintf(stderr, "second repair: %d %s\n", rc,
		        rc < 0 ? mq_errmsg() : "actions");
		abort();
	}
	FUZZ_CHECK(fi_hash_dir() == before);

	rc = mq_verify_partition(t, 0, fi_after_repair, &problems);
	FUZZ_CHECK(rc == MQ_ENOMEM || (rc >= 0 && rc == problems));
	if (rc != 0) {
		mq_topic_close(t);
		return;
	}

	/* A partition verify finds sound reads to its end... */
	int64_t start, end;
	rc = mq_log_offsets(t, 0, &start, &end);
	FUZZ_CHECK(rc == MQ_OK || rc == MQ_ENOMEM);
	if (rc < 0)
		end = INT64_MAX;
	rc = mq_reader_open(t, 0, &r);
	FUZZ_CHECK(rc == MQ_OK || rc == MQ_ENOMEM);
	if (rc == MQ_OK) {
		rc = fi_walk(r, end);
		if (rc == MQ_ECORRUPT) {
			fprintf(stderr, "reader after repair: %s\n",
			        mq_errmsg());
			abort();
		}
		mq_reader_close(r);
	}

	/* ... and takes an append that reads back. */
	rc = fi_append_read_back(t, "fixed");
	if (rc != MQ_OK && rc != MQ_ERANGE && rc != MQ_ENOMEM) {
		fprintf(stderr, "append after repair: %d %s\n", rc,
		        mq_errmsg());
		abort();
	}
	mq_topic_close(t);
}

/*
 * fi_moved moves the log start offset under a reader that has read a few
 * records (mode 2 bit 2): a jump mq_reader_moved reports goes forward and
 * the records after it are at or past where it went; a fresh reader
 * returns nothing below the new log start, and reports no jump.
 */
static void fi_moved(int pick)
{
	mq_topic *t;
	mq_reader *r;
	mq_record rec;
	mq_retain_result res;
	int64_t start, end, last = INT64_MIN, from, to, floor;
	int rc, n = 0;

	FUZZ_CHECK(mq_topic_open(fi_env, "f", &t) == MQ_OK);
	rc = mq_log_offsets(t, 0, &start, &end);
	FUZZ_CHECK(rc == MQ_OK || rc == MQ_ECORRUPT || rc == MQ_ENOMEM);
	if (rc < 0 || mq_reader_open(t, 0, &r) != MQ_OK) {
		mq_topic_close(t);
		return;
	}
	for (int i = 0; i <= (pick & 3); i++) {
		if (mq_reader_next(r, &rec) != 1)
			break;
		FUZZ_CHECK(rec.offset > last);
		last = rec.offset;
		n++;
	}
	if (n == 0 || last >= end) {
		mq_reader_close(r);
		mq_topic_close(t);
		return;
	}
	int64_t targets[4] = { fi_add(last, 1), fi_add(last, 2), end,
	                       last + (end - last) / 2 + 1 };
	mq_retain_opts o = { .flags = MQ_NOWAIT, .now_ms = -1,
	                     .delete_before = targets[(pick >> 2) & 3] };
	if (o.delete_before > end)
		o.delete_before = end;
	rc = mq_retain(t, 0, &o, NULL, NULL, &res);
	FUZZ_CHECK(rc == MQ_OK || rc == MQ_ERANGE || rc == MQ_ECORRUPT ||
	           rc == MQ_ENOMEM);
	if (fi_verbose)
		fprintf(stderr, "log start moved to %lld: %d\n",
		        (long long)o.delete_before, rc);
	if (rc < 0) {
		mq_reader_close(r);
		mq_topic_close(t);
		return;
	}
	FUZZ_CHECK(res.log_start >= o.delete_before);

	/* The reader goes on; what it returns after a jump it reported is
	 * at or past where the jump went. */
	floor = INT64_MIN;
	for (int i = 0; i < FI_MAX_RECORDS; i++) {
		rc = mq_reader_next(r, &rec);
		if (mq_reader_moved(r, &from, &to)) {
			if (fi_verbose)
				fprintf(stderr, "  moved %lld -> %lld\n",
				        (long long)from, (long long)to);
			FUZZ_CHECK(from < to && from > last);
			floor = to;
		}
		FUZZ_CHECK(mq_reader_moved(r, NULL, NULL) == 0);
		if (rc != 1)
			break;
		FUZZ_CHECK(rec.offset > last && rec.offset >= floor);
		last = rec.offset;
	}
	mq_reader_close(r);

	/* A new reader starts at the log start: a seek below it says so,
	 * and nothing it returns is below it. */
	if (mq_reader_open(t, 0, &r) == MQ_OK) {
		rc = mq_reader_seek(r, INT64_MIN);
		FUZZ_CHECK(rc == 1 || rc == MQ_ECORRUPT || rc == MQ_ENOMEM);
		for (int i = 0; rc >= 0 && i < FI_MAX_RECORDS; i++) {
			if (mq_reader_next(r, &rec) != 1)
				break;
			FUZZ_CHECK(rec.offset >= res.log_start);
		}
		FUZZ_CHECK(mq_reader_moved(r, NULL, NULL) == 0);
		mq_reader_close(r);
	}
	mq_topic_close(t);
}

#endif
