/*
 * error.c - error codes and per-thread error messages.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "mq.h"

static _Thread_local char errbuf[1024];

const char *mq_strerror(int err)
{
	switch (err) {
	case MQ_OK: return "success";
	case MQ_EIO: return "input/output error";
	case MQ_ENOMEM: return "out of memory";
	case MQ_EINVAL: return "invalid argument";
	case MQ_ENOTOPIC: return "no such topic";
	case MQ_EEXIST: return "topic already exists";
	case MQ_EBADNAME: return "invalid name";
	case MQ_ECONFIG: return "invalid configuration";
	case MQ_EBUSY: return "lock busy";
	case MQ_ECORRUPT: return "corrupt data";
	case MQ_ECODEC: return "unsupported compression codec";
	case MQ_ETOOBIG: return "record too large";
	case MQ_ERANGE: return "out of range";
	default: return "unknown error";
	}
}

const char *mq_errmsg(void)
{
	return errbuf;
}

int mq_fail(int code, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(errbuf, sizeof errbuf, fmt, ap);
	va_end(ap);
	if (code == MQ_EIO && n >= 0 && (size_t)n < sizeof errbuf)
		snprintf(errbuf + n, sizeof errbuf - (size_t)n, ": %s",
		         strerror(saved));
	errno = saved;
	return code;
}

int mq_fail_prefix(int code, const char *fmt, ...)
{
	int saved = errno;
	char prefix[512], old[sizeof errbuf];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof prefix, fmt, ap);
	va_end(ap);
	memcpy(old, errbuf, sizeof old);
	size_t n = strlen(prefix);
	if (n > sizeof errbuf - 3)
		n = sizeof errbuf - 3;
	memcpy(errbuf, prefix, n);
	memcpy(errbuf + n, ": ", 2);
	size_t rest = sizeof errbuf - n - 3;
	size_t olen = strnlen(old, rest);
	memcpy(errbuf + n + 2, old, olen);
	errbuf[n + 2 + olen] = '\0';
	errno = saved;
	return code;
}
