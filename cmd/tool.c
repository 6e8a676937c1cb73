/*
 * tool.c - shared helpers of the mq-* tools.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "tool.h"

const char *progname = "mq";

void tool_init(const char *name)
{
	progname = name;
}

int exit_code_for(int mqerr)
{
	switch (mqerr) {
	case MQ_OK: return EXIT_OK;
	case MQ_EBUSY: return EXIT_BUSY;
	case MQ_ECORRUPT: return EXIT_CORRUPT;
	case MQ_EBADNAME: return EXIT_USAGE;
	default: return EXIT_ERROR;
	}
}

int exit_worse(int a, int b)
{
	/* Indexed by status: 0 ok, 1 error, 2 usage, 3 busy, 4 corrupt. */
	static const int rank[] = { 0, 2, 4, 1, 3 };

	return rank[b] > rank[a] ? b : a;
}

static void vmsg(const char *fmt, va_list ap)
{
	fflush(stdout);
	fprintf(stderr, "%s: ", progname);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void errorx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

void warnx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

void die(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	exit(code);
}

void die_mq(int err, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	const char *detail = mq_errmsg();
	if (!detail || !*detail)
		detail = mq_strerror(err);
	fflush(stdout);
	fprintf(stderr, "%s: %s: %s\n", progname, buf, detail);
	exit(exit_code_for(err));
}

void usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try '%s --help' for more information.\n", progname);
	exit(EXIT_USAGE);
}

void print_version(void)
{
	printf("%s (mq) %s\n", progname, MQ_VERSION);
	exit(EXIT_OK);
}

const char *data_dir(const char *opt)
{
	static char buf[4096];
	if (opt && *opt)
		return opt;
	const char *env = getenv("MQ_DIR");
	if (env && *env)
		return env;
	const char *xdg = getenv("XDG_DATA_HOME");
	if (xdg && *xdg) {
		snprintf(buf, sizeof buf, "%s/mq", xdg);
		return buf;
	}
	const char *home = getenv("HOME");
	snprintf(buf, sizeof buf, "%s/.local/share/mq", home && *home ? home : ".");
	return buf;
}

int parse_i64(const char *s, int64_t *out)
{
	if (!s || !*s)
		return -1;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || end == s)
		return -1;
	*out = v;
	return 0;
}

mq_env *open_env(const char *dir, int flags)
{
	mq_env *env;
	int rc = mq_env_open(dir, flags, &env);
	if (rc < 0)
		die_mq(rc, "cannot open data directory '%s'", dir);
	return env;
}

/* bad_option prints the --help pointer and exits with the usage code. */
void bad_option(void)
{
	fprintf(stderr, "Try '%s --help' for more information.\n", progname);
	exit(EXIT_USAGE);
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

/* map_buffer: see tool.h. */
void *map_buffer(size_t len, size_t hot)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	/* Advisory: an older kernel faults the pages in as they are used. */
	(void)madvise(p, hot < len ? hot : len, MADV_POPULATE_WRITE);
	return p;
}

/* unmap_buffer unmaps what map_buffer mapped. */
void unmap_buffer(void *p, size_t len)
{
	if (p)
		munmap(p, len);
}
