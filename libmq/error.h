/*
 * error.h - recording failures for mq_errmsg().
 */
#ifndef MQ_ERROR_H
#define MQ_ERROR_H

/*
 * mq_fail formats a message into the calling thread's error buffer and
 * returns code, so a failing function can end with "return mq_fail(...)".
 * errno is preserved.  When code is MQ_EIO, ": strerror(errno)" is
 * appended to the message.
 */
int mq_fail(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * mq_fail_prefix prepends "PREFIX: " to the current thread's message and
 * returns code, for adding context (topic, partition) as an error travels
 * up.  errno is preserved.
 */
int mq_fail_prefix(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
