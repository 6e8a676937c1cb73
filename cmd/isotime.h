/*
 * isotime.h - reading timestamps given on the command line.
 */
#ifndef MQ_ISOTIME_H
#define MQ_ISOTIME_H

#include <stdint.h>

/*
 * isotime_parse converts s to milliseconds since the epoch and stores them
 * in *ms.  Accepted forms: a decimal count of milliseconds
 * ("1795426530000"); an ISO 8601 date ("2026-11-23", midnight UTC); an ISO
 * 8601 date and time "2026-11-23T10:15[:30[.fff]]" ('T' or one space)
 * followed by "Z", "+hh:mm", "-hh:mm" or nothing (UTC).  Fractions beyond
 * milliseconds are truncated.  Returns 0, or -1 if s is none of these or
 * names an impossible date or time.
 */
int isotime_parse(const char *s, int64_t *ms);

#endif
