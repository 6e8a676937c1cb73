/*
 * tool.h - what every mq-* tool shares: exit codes, messages in git's
 * style, the data directory rule and number parsing.
 */
#ifndef MQ_TOOL_H
#define MQ_TOOL_H

#include <stdint.h>

#include "mq.h"

/* The exit-code table, the same for every tool and every man page. */
enum {
	EXIT_OK = 0,       /* success */
	EXIT_ERROR = 1,    /* an error: I/O, missing topic, bad record, ... */
	EXIT_USAGE = 2,    /* bad command line */
	EXIT_BUSY = 3,     /* a lock is held and --no-wait was given */
	EXIT_CORRUPT = 4,  /* corruption found in the stored data */
};

extern const char *progname;

/* tool_init records the tool's name for messages. */
void tool_init(const char *name);

/* exit_code_for maps an MQ_E* code to the exit-code table. */
int exit_code_for(int mqerr);

/*
 * exit_worse returns the more serious of two exit statuses, for a tool
 * that goes on after a failure: corruption (4) over an error (1) over a
 * busy lock (3) over success.  A usage error (2) outranks them all, though
 * tools stop at one before doing anything.
 */
int exit_worse(int a, int b);

/* "PROG: MESSAGE" on stderr.  warnx adds nothing else; none exit. */
void errorx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "PROG: MESSAGE" on stderr, then exit(code). */
__attribute__((noreturn, format(printf, 2, 3)))
void die(int code, const char *fmt, ...);

/*
 * die_mq prints "PROG: MESSAGE: <mq_errmsg()>" (or mq_strerror(err) when
 * there is no detail) and exits with exit_code_for(err).
 */
__attribute__((noreturn, format(printf, 2, 3)))
void die_mq(int err, const char *fmt, ...);

/*
 * usage_error prints "PROG: MESSAGE" and "Try 'PROG --help' for more
 * information." on stderr and exits with EXIT_USAGE.
 */
__attribute__((noreturn, format(printf, 1, 2)))
void usage_error(const char *fmt, ...);

/* bad_option ends a getopt loop that met an unknown option or a missing
 * argument (getopt has printed why): it prints "Try 'PROG --help' for more
 * information." and exits EXIT_USAGE. */
__attribute__((noreturn))
void bad_option(void);

/* print_version prints "PROG (mq) VERSION" on stdout and exits 0. */
__attribute__((noreturn)) void print_version(void);

/*
 * data_dir returns the data directory: opt if not NULL, else $MQ_DIR, else
 * ${XDG_DATA_HOME:-$HOME/.local/share}/mq.  The string is static or opt.
 */
const char *data_dir(const char *opt);

/*
 * parse_i64 parses a whole decimal string (optional sign) into *out.
 * Returns 0, or -1 if s is empty, has trailing junk or overflows.
 */
int parse_i64(const char *s, int64_t *out);

/* open_env opens the data directory or dies with a clear message. */
mq_env *open_env(const char *dir, int flags);

/*
 * map_buffer returns len bytes of fresh anonymous memory, or NULL; the
 * pages of its first hot bytes are already faulted in (one madvise
 * instead of a page fault per page, which is dear on some virtual
 * machines), the others are as they are first written.  unmap_buffer
 * frees it (NULL is a no-op).
 */
void *map_buffer(size_t len, size_t hot);
void unmap_buffer(void *p, size_t len);

#endif
