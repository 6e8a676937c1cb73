/*
 * scan.h - finding where records end, and where their keys end, many
 * records at a time, for mq-produce's parallel path.
 *
 * Two memchr(3) calls a record (its delimiter, then its key delimiter)
 * cost more than the record's other framing: each call starts over on a
 * few dozen bytes.  scan_records instead compares 64 bytes at a time
 * against both delimiters and walks the bits of the two masks (with AVX2
 * where the CPU has it), and falls back to memchr(3) elsewhere.
 */
#ifndef MQ_SCAN_H
#define MQ_SCAN_H

#include <stddef.h>
#include <stdint.h>

/* A record found: the offsets of its delimiter and of the first key
 * delimiter in it (SCAN_NONE: there is none, or none was looked for). */
struct scan_hit {
	uint32_t end;
	uint32_t key;
};

#define SCAN_NONE UINT32_MAX

/*
 * scan_records looks at the n bytes at p (n below 4 GiB) for records
 * ending in the byte delim, the first starting at p.  For each record
 * found, whole, it stores in hits[i] the offset of its delimiter and the
 * offset of the first byte kdelim in it (kdelim -1: none is looked for).
 * It stops after max records, or at the last delimiter, and returns how
 * many it found: 0 if there is no delim in the n bytes.  It reads no byte
 * outside them.  It cannot fail.
 */
size_t scan_records(const char *p, size_t n, int delim, int kdelim,
                    struct scan_hit *hits, size_t max);

#endif
