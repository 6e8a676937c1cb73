/*
 * test_group.c - consumer groups in libmq: joining, the deterministic
 * round-robin assignment, hand-over on join and leave (with the commit
 * before the release), commits only by the owner, live member counts,
 * describing a group, and administration refused while members live.
 * Two members in one process behave as two processes: flock(2) locks
 * belong to open file descriptions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mq.h"
#include "testutil.h"

struct fixture {
	char *dir;
	mq_env *env;
	mq_topic *t;
};

static int setup(void **state)
{
	static const char *const ov[] = { "partitions=6", NULL };
	struct fixture *f = calloc(1, sizeof *f);
	f->t = tu_setup(&f->dir, &f->env, "t", ov);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	tu_teardown(f->dir, f->env, f->t);
	free(f);
	return 0;
}

static const char *const topics[] = { "t" };

static size_t owned(const mq_group *g)
{
	size_t n = 0;
	for (size_t i = 0; i < mq_group_size(g); i++)
		n += mq_group_owns(g, i) != 0;
	return n;
}

static void test_single_member_owns_all(void **state)
{
	struct fixture *f = *state;
	mq_group *g;
	assert_int_equal(mq_group_join(f->env, "g", topics, 1, &g), MQ_OK);
	assert_int_equal(mq_group_size(g), 6);
	assert_int_equal(owned(g), 0);
	assert_int_equal(mq_group_rebalance(g, 0, NULL, NULL), MQ_OK);
	assert_int_equal(mq_group_live(g), 1);
	assert_int_equal(owned(g), 6);
	const char *topic;
	int32_t p;
	mq_group_part(g, 5, &topic, &p);
	assert_string_equal(topic, "t");
	assert_int_equal(p, 5);
	assert_int_equal(mq_group_offset(g, 0), -1);
	assert_null(strchr(mq_group_member(g), '.'));
	assert_int_equal(mq_group_leave(g, 0), MQ_OK);
}

struct changes {
	int taken, released;
};

static void count_change(void *ctx, size_t i, int own)
{
	struct changes *c = ctx;
	(void)i;
	if (own)
		c->taken++;
	else
		c->released++;
}

static void test_handover_and_commit(void **state)
{
	struct fixture *f = *state;
	mq_group *a, *b;
	struct changes ca = { 0 }, cb = { 0 };
	int64_t off;

	assert_int_equal(mq_group_join(f->env, "g", topics, 1, &a), MQ_OK);
	assert_int_equal(mq_group_rebalance(a, 0, count_change, &ca), MQ_OK);
	assert_int_equal(ca.taken, 6);
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(mq_group_processed(a, i, 10 + (int64_t)i),
		                 MQ_OK);
	/* b joins later, so its id sorts after a's. */
	usleep(2000);
	assert_int_equal(mq_group_join(f->env, "g", topics, 1, &b), MQ_OK);
	assert_true(strcmp(mq_group_member(a), mq_group_member(b)) < 0);
	assert_int_equal(mq_group_rebalance(b, 0, count_change, &cb), MQ_OK);
	assert_int_equal(mq_group_live(b), 2);
	assert_int_equal(cb.taken, 0);          /* a still holds them */
	assert_int_equal(mq_group_rebalance(a, 0, count_change, &ca), MQ_OK);
	assert_int_equal(ca.released, 3);
	assert_int_equal(owned(a), 3);
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(mq_group_owns(a, i) != 0, i % 2 == 0);
	/* The released ones were committed before the release. */
	assert_int_equal(mq_group_committed(f->env, "g", "t", 1, &off), MQ_OK);
	assert_int_equal(off, 11);
	assert_int_equal(mq_group_committed(f->env, "g", "t", 0, &off), MQ_OK);
	assert_int_equal(off, -1);
	assert_int_equal(mq_group_rebalance(b, 0, count_change, &cb), MQ_OK);
	assert_int_equal(cb.taken, 3);
	assert_int_equal(mq_group_offset(b, 3), 13);
	assert_true(mq_group_assigned(b, 1) && !mq_group_assigned(b, 0));

	/* Nobody commits what it does not own. */
	assert_int_equal(mq_group_processed(b, 0, 99), MQ_EINVAL);
	assert_int_equal(mq_group_processed(b, 1, 20), MQ_OK);
	assert_int_equal(mq_group_commit(b, MQ_GROUP_NOSYNC), MQ_OK);
	assert_int_equal(mq_group_committed(f->env, "g", "t", 1, &off), MQ_OK);
	assert_int_equal(off, 20);

	/* a leaves: b takes everything, with a's commits. */
	assert_int_equal(mq_group_leave(a, 0), MQ_OK);
	assert_int_equal(mq_group_rebalance(b, 0, NULL, NULL), MQ_OK);
	assert_int_equal(mq_group_live(b), 1);
	assert_int_equal(owned(b), 6);
	assert_int_equal(mq_group_offset(b, 0), 10);
	assert_int_equal(mq_group_leave(b, 0), MQ_OK);
}

static void test_members_and_describe(void **state)
{
	struct fixture *f = *state;
	mq_group *a;
	size_t live, n;
	mq_group_pinfo *v;

	assert_int_equal(mq_group_members(f->env, "g", &live), MQ_OK);
	assert_int_equal(live, 0);
	assert_int_equal(mq_group_describe(f->env, "g", &v, &n), MQ_EINVAL);
	assert_int_equal(mq_group_join(f->env, "g", topics, 1, &a), MQ_OK);
	assert_int_equal(mq_group_members(f->env, "g", &live), MQ_OK);
	assert_int_equal(live, 1);
	assert_int_equal(mq_group_rebalance(a, 0, NULL, NULL), MQ_OK);
	assert_int_equal(mq_group_processed(a, 2, 7), MQ_OK);
	assert_int_equal(mq_group_commit(a, 0), MQ_OK);
	assert_int_equal(mq_group_describe(f->env, "g", &v, &n), MQ_OK);
	assert_int_equal(n, 6);
	assert_string_equal(v[2].topic, "t");
	assert_int_equal(v[2].partition, 2);
	assert_int_equal(v[2].committed, 7);
	assert_int_equal(v[1].committed, -1);
	assert_true(v[2].owned);
	assert_int_equal(v[2].owner.pid, getpid());
	assert_string_equal(v[2].owner.member, mq_group_member(a));
	assert_true(v[2].owner.since > 0);
	mq_group_describe_free(v, n);
	assert_int_equal(mq_group_leave(a, 0), MQ_OK);
	assert_int_equal(mq_group_describe(f->env, "g", &v, &n), MQ_OK);
	assert_false(v[2].owned);
	assert_int_equal(v[2].committed, 7);
	mq_group_describe_free(v, n);
}

static void test_admin(void **state)
{
	struct fixture *f = *state;
	mq_group *a;
	mq_group_admin *ad;
	int64_t off;
	char **names;

	assert_int_equal(mq_group_admin_open(f->env, "g", 0, &ad), MQ_EINVAL);
	assert_int_equal(mq_group_join(f->env, "g", topics, 1, &a), MQ_OK);
	assert_int_equal(mq_group_admin_open(f->env, "g", 1, &ad), MQ_EBUSY);
	assert_int_equal(mq_group_leave(a, 0), MQ_OK);
	assert_int_equal(mq_group_admin_open(f->env, "g", 0, &ad), MQ_OK);
	assert_int_equal(mq_group_admin_set(ad, "t", 4, 42), MQ_OK);
	assert_int_equal(mq_group_committed(f->env, "g", "t", 4, &off), MQ_OK);
	assert_int_equal(off, 42);
	assert_int_equal(mq_group_admin_delete(ad), MQ_OK);
	mq_group_admin_close(ad);
	assert_int_equal(mq_group_list(f->env, &names), MQ_OK);
	assert_null(names[0]);
	mq_free_list(names);
	/* A deleted group can be joined again. */
	assert_int_equal(mq_group_join(f->env, "g", topics, 1, &a), MQ_OK);
	assert_int_equal(mq_group_rebalance(a, 0, NULL, NULL), MQ_OK);
	assert_int_equal(mq_group_offset(a, 4), -1);
	assert_int_equal(mq_group_leave(a, 0), MQ_OK);
}

static void test_bad_names(void **state)
{
	struct fixture *f = *state;
	mq_group *g;
	const char *bad[] = { "no/such" };
	size_t live;
	assert_int_equal(mq_group_join(f->env, "a b", topics, 1, &g),
	                 MQ_EBADNAME);
	assert_null(g);
	assert_int_equal(mq_group_join(f->env, "..", topics, 1, &g),
	                 MQ_EBADNAME);
	assert_int_equal(mq_group_join(f->env, "g", bad, 1, &g), MQ_EBADNAME);
	const char *missing[] = { "nosuch" };
	assert_int_equal(mq_group_join(f->env, "g", missing, 1, &g),
	                 MQ_ENOTOPIC);
	assert_int_equal(mq_group_members(f->env, "", &live), MQ_EBADNAME);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_single_member_owns_all,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_handover_and_commit,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_members_and_describe,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_admin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_names, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
