/* Temporary stubs for functions still being written; removed as they land. */
#include "error.h"
#include "internal.h"

void mq_part_free(struct mq_part *part) { (void)part; }
int mq_append(mq_topic *t, int32_t p, mq_batch *b, int flags, int64_t *base_offset) { return mq_fail(MQ_EINVAL, "not yet"); }
int mq_sync(mq_topic *t) { return MQ_OK; }
const char *mq_recovery_report(const mq_topic *t, int32_t p) { return NULL; }
int mq_reader_open(mq_topic *t, int32_t p, mq_reader **out) { return mq_fail(MQ_EINVAL, "not yet"); }
void mq_reader_close(mq_reader *r) {}
int mq_reader_seek(mq_reader *r, int64_t offset) { return mq_fail(MQ_EINVAL, "not yet"); }
int mq_reader_seek_time(mq_reader *r, int64_t ts) { return mq_fail(MQ_EINVAL, "not yet"); }
int mq_reader_next(mq_reader *r, mq_record *rec) { return mq_fail(MQ_EINVAL, "not yet"); }
int64_t mq_reader_position(const mq_reader *r) { return 0; }
int mq_log_offsets(mq_topic *t, int32_t p, int64_t *start, int64_t *end) { return mq_fail(MQ_EINVAL, "not yet"); }
int mq_partition_segments(mq_topic *t, int32_t p, mq_segment_info **out, size_t *n) { return mq_fail(MQ_EINVAL, "not yet"); }
int mq_dump_open(const char *path, mq_dump **out) { return mq_fail(MQ_EINVAL, "not yet"); }
void mq_dump_close(mq_dump *d) {}
int mq_dump_next_batch(mq_dump *d, mq_batch_info *info) { return mq_fail(MQ_EINVAL, "not yet"); }
int mq_dump_next_record(mq_dump *d, mq_record *rec) { return mq_fail(MQ_EINVAL, "not yet"); }
int mq_verify_partition(mq_topic *t, int32_t p, mq_report_fn report, void *ctx) { return mq_fail(MQ_EINVAL, "not yet"); }
