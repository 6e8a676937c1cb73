/*
 * test_repair_index.c - mq_repair_partition on damaged indexes: a missing
 * .timeindex, an .index entry pointing where no batch starts, an .index
 * that is a directory, a partial entry at the end of the active segment's
 * .index, and a .timeindex entry that is not its batch's maxTimestamp.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "mq.h"
#include "testutil.h"

/* Damaged, missing and misplaced indexes of closed and active segments. */
static void test_index_damage_only(void **state)
{
	(void)state;
	struct tu_fx fx;
	tu_fx_open(&fx);
	char p0[4200], p1[4200], p2[4200], p3[4200], log1[4200];
	tu_seg(p0, sizeof p0, fx.dir, "r", 0, fx.s[0].base_offset,
	       ".timeindex");
	tu_seg(p1, sizeof p1, fx.dir, "r", 0, fx.s[1].base_offset, ".index");
	tu_seg(p2, sizeof p2, fx.dir, "r", 0, fx.s[2].base_offset, ".index");
	tu_seg(p3, sizeof p3, fx.dir, "r", 0, fx.s[fx.ns - 1].base_offset,
	       ".index");
	tu_seg(log1, sizeof log1, fx.dir, "r", 0, fx.s[1].base_offset, ".log");
	size_t good_len;
	char *good = tu_slurp(p1, &good_len);
	assert_true(good_len >= 16);
	assert_int_equal(unlink(p0), 0);
	tu_flip(p1, 7);              /* entry 0 points where no batch starts */
	assert_int_equal(unlink(p2), 0);
	assert_int_equal(mkdir(p2, 0755), 0);
	long isize = tu_file_size(p3) + 3;
	FILE *f = fopen(p3, "ab");   /* a partial entry */
	assert_non_null(f);
	fputs("xyz", f);
	fclose(f);
	size_t llen;
	char *logbytes = tu_slurp(log1, &llen);

	struct tu_repair_log l;
	assert_int_equal(tu_repair(fx.t, MQ_REPAIR_DRY_RUN, &l), 4);
	assert_int_equal(tu_repair(fx.t, 0, &l), 4);
	assert_string_equal(l.file[0], strrchr(p0, '/') + 1);
	assert_string_equal(l.why[0], "missing");
	assert_string_equal(l.file[1], strrchr(p1, '/') + 1);
	assert_string_equal(l.why[1], "entry 0 points where no batch starts");
	assert_string_equal(l.file[2], strrchr(p2, '/') + 1);
	assert_string_equal(l.why[2], "not a regular file");
	char want[64];
	snprintf(want, sizeof want, "%020lld.index.damaged",
	         (long long)fx.s[2].base_offset);
	assert_string_equal(l.aside[2], want);
	assert_string_equal(l.file[3], strrchr(p3, '/') + 1);
	char sz[64];
	snprintf(sz, sizeof sz, "size %ld is not a multiple of 8", isize);
	assert_string_equal(l.why[3], sz);
	for (int i = 0; i < 4; i++)
		assert_int_equal(l.a[i].kind, MQ_REPAIR_INDEX);

	/* Rebuilt by the writer's rule: the same bytes it wrote. */
	tu_expect_file(p1, good, good_len);
	free(good);
	tu_expect_file(log1, logbytes, llen);
	free(logbytes);
	struct stat st;
	char moved[4300];
	snprintf(moved, sizeof moved, "%s.damaged", p2);
	assert_int_equal(stat(moved, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(stat(p2, &st), 0);
	assert_true(S_ISREG(st.st_mode));

	tu_expect_verified(fx.t);
	assert_int_equal(tu_repair(fx.t, 0, &l), 0);
	tu_expect_records(fx.t, TU_FX_NREC, TU_FX_NREC, 0);
	assert_int_equal(tu_append(fx.t, 0, TU_FX_NREC, 2, 1000), TU_FX_NREC);
	tu_fx_close(&fx);
}

/*
 * A .timeindex entry of a closed segment whose timestamp is one above the
 * maxTimestamp of the batch holding its offset: not below its records'
 * timestamps, yet readers and verify reject it (Kafka's rule: the entry is
 * that batch's maxTimestamp), so mq-repair rebuilds it too.
 */
static void test_timeindex_not_batch_max(void **state)
{
	(void)state;
	struct tu_fx fx = { 0 };
	fx.t = tu_setup(&fx.dir, &fx.env, "r", tu_fx_config);
	for (int i = 0; i < TU_FX_NREC; i += 2)
		assert_int_equal(tu_append(fx.t, 0, i, 2, 1000 + 10 * i), i);
	assert_int_equal(mq_sync(fx.t), 0);
	tu_fx_segments(&fx);
	char p0[4200];
	tu_seg(p0, sizeof p0, fx.dir, "r", 0, fx.s[0].base_offset,
	       ".timeindex");
	size_t good_len;
	char *good = tu_slurp(p0, &good_len);
	assert_true(good_len >= 24);
	assert_true((unsigned char)good[7] < 255);
	int fd = open(p0, O_RDWR);
	assert_true(fd >= 0);
	unsigned char c = (unsigned char)good[7] + 1;
	assert_int_equal(pwrite(fd, &c, 1, 7), 1);
	close(fd);
	assert_int_equal(mq_verify_partition(fx.t, 0, NULL, NULL), 1);

	struct tu_repair_log l;
	assert_int_equal(tu_repair(fx.t, 0, &l), 1);
	assert_string_equal(l.file[0], strrchr(p0, '/') + 1);
	assert_string_equal(l.why[0], "entry 0 has a timestamp that is not the "
	                    "maxTimestamp of the batch holding its offset");
	assert_int_equal(l.a[0].kind, MQ_REPAIR_INDEX);
	tu_expect_file(p0, good, good_len);
	free(good);
	tu_expect_verified(fx.t);
	assert_int_equal(tu_repair(fx.t, 0, &l), 0);
	tu_fx_close(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_index_damage_only),
		cmocka_unit_test(test_timeindex_not_batch_max),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
