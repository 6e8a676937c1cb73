/*
 * inspect.h - the parts of mq-inspect that live outside mq-inspect.c:
 * dumping segment and index files, and the small text and JSON formatting
 * helpers both halves share (all in inspect-dump.c).
 */
#ifndef MQ_INSPECT_H
#define MQ_INSPECT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * inspect_dump_path dumps PATH to stdout: a .log, .index or .timeindex
 * file, or a partition directory (each .log in it, by base offset).
 * Problems go to stderr.  Returns an exit code: 0, 1 for an error (the
 * file cannot be read or decoded), 4 if corruption was found; the dump
 * goes on past a batch whose CRC fails.
 */
int inspect_dump_path(const char *path);

/*
 * inspect_fmt_time writes ms since the epoch as ISO 8601 UTC with
 * milliseconds ("2026-11-23T09:00:00.000Z") into buf, or "-" when ms is
 * negative (no timestamp).  buf needs 32 bytes.  Returns buf.
 */
char *inspect_fmt_time(int64_t ms, char *buf, size_t len);

/*
 * inspect_put_escaped writes n bytes to fp with every byte outside
 * printable ASCII (0x20 to 0x7e) and the backslash written as \xNN, so the
 * result stays on one line.
 */
void inspect_put_escaped(FILE *fp, const void *p, size_t n);

/* inspect_put_json_string writes s as a quoted JSON string. */
void inspect_put_json_string(FILE *fp, const char *s);

#endif
