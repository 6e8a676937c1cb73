/*
 * config.c - topic configuration: Kafka's keys and defaults, parsing and
 * rendering of values, and INI files read with inih.
 */
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "internal.h"
#include "nofollow.h"

enum kind { K_INT32, K_INT64, K_RATIO, K_POLICY, K_COMPRESSION, K_TSTYPE };

struct key {
	const char *name;
	enum kind kind;
	size_t off;
	int64_t min, max;
	const char *hint;      /* appended to range errors, or NULL */
};

#define OFF(f) offsetof(mq_config, f)

/*
 * The keys in the order mq_config_keys() lists them and config files show
 * them.  partitions caps at a million as a guard against a typo creating a
 * billion directories; segment.bytes is an int in Kafka, and its floor is
 * far below Kafka's 1 MiB so tests can roll tiny segments.
 */
static const struct key keys[] = {
	{ "partitions", K_INT32, OFF(partitions), 1, 1000000, NULL },
	{ "segment.bytes", K_INT64, OFF(segment_bytes), 64, INT32_MAX, NULL },
	{ "segment.ms", K_INT64, OFF(segment_ms), 1, INT64_MAX, NULL },
	{ "retention.ms", K_INT64, OFF(retention_ms), -1, INT64_MAX,
	  "-1 means unlimited" },
	{ "retention.bytes", K_INT64, OFF(retention_bytes), -1, INT64_MAX,
	  "-1 means unlimited" },
	{ "cleanup.policy", K_POLICY, OFF(cleanup_policy), 0, 0, NULL },
	{ "delete.retention.ms", K_INT64, OFF(delete_retention_ms), 0,
	  INT64_MAX, NULL },
	{ "min.cleanable.dirty.ratio", K_RATIO, OFF(min_cleanable_dirty_ratio),
	  0, 0, NULL },
	{ "min.compaction.lag.ms", K_INT64, OFF(min_compaction_lag_ms), 0,
	  INT64_MAX, NULL },
	{ "max.message.bytes", K_INT32, OFF(max_message_bytes), 1, INT32_MAX,
	  NULL },
	{ "compression.type", K_COMPRESSION, OFF(compression_type), 0, 0, NULL },
	{ "message.timestamp.type", K_TSTYPE, OFF(timestamp_type), 0, 0, NULL },
	{ "index.interval.bytes", K_INT32, OFF(index_interval_bytes), 0,
	  INT32_MAX, NULL },
	{ "flush.messages", K_INT64, OFF(flush_messages), 1, INT64_MAX, NULL },
	{ "flush.ms", K_INT64, OFF(flush_ms), 0, INT64_MAX, NULL },
};

#define NKEYS (sizeof keys / sizeof keys[0])

static const char *const key_names[] = {
	"partitions", "segment.bytes", "segment.ms", "retention.ms",
	"retention.bytes", "cleanup.policy", "delete.retention.ms",
	"min.cleanable.dirty.ratio", "min.compaction.lag.ms",
	"max.message.bytes", "compression.type", "message.timestamp.type",
	"index.interval.bytes", "flush.messages", "flush.ms", NULL,
};

_Static_assert(sizeof key_names / sizeof key_names[0] == NKEYS + 1,
               "key_names must list every key");

static const char *const codec_names[] = {
	"uncompressed", "gzip", "snappy", "lz4", "zstd",
};

/* mq_config_defaults fills cfg with Kafka's defaults; it cannot fail. */
void mq_config_defaults(mq_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->partitions = 1;
	cfg->segment_bytes = 1073741824;
	cfg->segment_ms = 604800000;
	cfg->retention_ms = 604800000;
	cfg->retention_bytes = -1;
	cfg->cleanup_policy = MQ_CLEANUP_DELETE;
	cfg->delete_retention_ms = 86400000;
	cfg->min_cleanable_dirty_ratio = 0.5;
	cfg->min_compaction_lag_ms = 0;
	cfg->max_message_bytes = 1048588;
	cfg->compression_type = MQ_COMPRESSION_PRODUCER;
	cfg->timestamp_type = MQ_TS_CREATE;
	cfg->index_interval_bytes = 4096;
	cfg->flush_messages = INT64_MAX;
	cfg->flush_ms = INT64_MAX;
}

/* mq_config_keys returns the static, NULL-terminated list of keys. */
const char *const *mq_config_keys(void)
{
	return key_names;
}

static const struct key *find_key(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

/*
 * show copies s into buf for quoting in a message: printable ASCII as is,
 * anything else as \xNN, cut with "..." past 64 characters.
 */
static const char *show(const char *s, char *buf, size_t len)
{
	size_t o = 0, n = 0;
	for (; *s && o + 8 < len; s++, n++) {
		unsigned char c = (unsigned char)*s;
		if (n == 64) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (c >= 0x20 && c < 0x7f && c != '\\')
			buf[o++] = (char)c;
		else
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", c);
	}
	buf[o] = '\0';
	return buf;
}

/* parse_int reads a whole decimal integer with an optional '-'. */
static int parse_int(const char *s, int64_t *out)
{
	int neg = 0;
	int64_t v = 0;
	if (*s == '-') {
		neg = 1;
		s++;
	}
	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		int d = *s - '0';
		/* Accumulate negatively so INT64_MIN fits. */
		if (v < (INT64_MIN + d) / 10)
			return -1;
		v = v * 10 - d;
	}
	if (!neg) {
		if (v == INT64_MIN)
			return -1;
		v = -v;
	}
	*out = v;
	return 0;
}

/* parse_ratio reads a plain decimal fraction in the C locale. */
static int parse_ratio(const char *s, double *out)
{
	if (*s == '\0' || strspn(s, "0123456789.eE+-") != strlen(s))
		return -1;
	locale_t c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	if (c == (locale_t)0)
		return -1;
	char *end;
	errno = 0;
	double v = strtod_l(s, &end, c);
	int bad = *end != '\0' || errno != 0 || !isfinite(v);
	freelocale(c);
	if (bad)
		return -1;
	*out = v;
	return 0;
}

/*
 * format_ratio writes the shortest %g rendering of v that reads back as v,
 * in the C locale.
 */
static void format_ratio(double v, char *buf, size_t len)
{
	locale_t c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	locale_t old = c ? uselocale(c) : (locale_t)0;
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	if (c) {
		uselocale(old);
		freelocale(c);
	}
}

/* parse_policy reads "delete", "compact" or both, comma-separated. */
static int parse_policy(const char *s, int *out)
{
	int bits = 0;
	const char *p = s;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		while (n > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			n--;
		}
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n == 6 && memcmp(p, "delete", 6) == 0)
			bits |= MQ_CLEANUP_DELETE;
		else if (n == 7 && memcmp(p, "compact", 7) == 0)
			bits |= MQ_CLEANUP_COMPACT;
		else
			return -1;
		if (!comma)
			break;
		p = comma + 1;
	}
	*out = bits;
	return 0;
}

static int bad_value(const struct key *k, const char *value, const char *why)
{
	char buf[300];
	return mq_fail(MQ_ECONFIG, "invalid value '%s' for %s: %s",
	               show(value, buf, sizeof buf), k->name, why);
}

static int bad_range(const struct key *k, const char *value)
{
	char why[160];
	snprintf(why, sizeof why, "must be a whole number from %lld to %lld",
	         (long long)k->min, (long long)k->max);
	if (k->hint) {
		size_t n = strlen(why);
		snprintf(why + n, sizeof why - n, " (%s)", k->hint);
	}
	return bad_value(k, value, why);
}

/*
 * mq_config_set parses value for key into cfg; an unknown key or a bad
 * value is MQ_ECONFIG naming the key, and leaves cfg unchanged.
 */
int mq_config_set(mq_config *cfg, const char *key, const char *value)
{
	char buf[300];
	if (!key)
		return mq_fail(MQ_ECONFIG, "missing config key");
	const struct key *k = find_key(key);
	if (!k)
		return mq_fail(MQ_ECONFIG, "unknown config key '%s'",
		               show(key, buf, sizeof buf));
	if (!value)
		return mq_fail(MQ_ECONFIG, "missing value for %s", k->name);
	char *field = (char *)cfg + k->off;
	int64_t i;
	double d;
	int e;
	switch (k->kind) {
	case K_INT32:
	case K_INT64:
		if (parse_int(value, &i) < 0 || i < k->min || i > k->max)
			return bad_range(k, value);
		if (k->kind == K_INT32) {
			int32_t v = (int32_t)i;
			memcpy(field, &v, sizeof v);
		} else {
			memcpy(field, &i, sizeof i);
		}
		return MQ_OK;
	case K_RATIO:
		if (parse_ratio(value, &d) < 0 || d < 0 || d > 1)
			return bad_value(k, value,
			                 "must be a number from 0 to 1");
		memcpy(field, &d, sizeof d);
		return MQ_OK;
	case K_POLICY:
		if (parse_policy(value, &e) < 0)
			return bad_value(k, value, "must be delete, compact or "
			                 "compact,delete");
		break;
	case K_COMPRESSION:
		if (strcmp(value, "producer") == 0) {
			e = MQ_COMPRESSION_PRODUCER;
			break;
		}
		for (e = 0; e < 5; e++)
			if (strcmp(value, codec_names[e]) == 0)
				break;
		if (e == MQ_COMPRESSION_NONE || e == MQ_COMPRESSION_GZIP)
			break;
		if (e < 5)
			return bad_value(k, value, "mq supports only producer, "
			                 "uncompressed and gzip");
		return bad_value(k, value, "must be producer, uncompressed or "
		                 "gzip");
	case K_TSTYPE:
		if (strcmp(value, "CreateTime") == 0)
			e = MQ_TS_CREATE;
		else if (strcmp(value, "LogAppendTime") == 0)
			e = MQ_TS_LOG_APPEND;
		else
			return bad_value(k, value, "must be CreateTime or "
			                 "LogAppendTime");
		break;
	default:
		return mq_fail(MQ_ECONFIG, "internal error: key %s", k->name);
	}
	memcpy(field, &e, sizeof e);
	return MQ_OK;
}

/*
 * mq_config_get renders key's value in the form mq_config_set accepts;
 * MQ_ECONFIG for an unknown key.
 */
int mq_config_get(const mq_config *cfg, const char *key, char *buf,
                  size_t len)
{
	char tmp[64], shown[300];
	const struct key *k = key ? find_key(key) : NULL;
	if (!k)
		return mq_fail(MQ_ECONFIG, "unknown config key '%s'",
		               key ? show(key, shown, sizeof shown) : "");
	const char *field = (const char *)cfg + k->off;
	int32_t i32;
	int64_t i64;
	double d;
	int e;
	const char *s = tmp;
	switch (k->kind) {
	case K_INT32:
		memcpy(&i32, field, sizeof i32);
		snprintf(tmp, sizeof tmp, "%" PRId32, i32);
		break;
	case K_INT64:
		memcpy(&i64, field, sizeof i64);
		snprintf(tmp, sizeof tmp, "%" PRId64, i64);
		break;
	case K_RATIO:
		memcpy(&d, field, sizeof d);
		format_ratio(d, tmp, sizeof tmp);
		break;
	case K_POLICY:
		memcpy(&e, field, sizeof e);
		if (e == MQ_CLEANUP_DELETE)
			s = "delete";
		else if (e == MQ_CLEANUP_COMPACT)
			s = "compact";
		else if (e == (MQ_CLEANUP_DELETE | MQ_CLEANUP_COMPACT))
			s = "compact,delete";
		else
			snprintf(tmp, sizeof tmp, "%d", e);
		break;
	case K_COMPRESSION:
		memcpy(&e, field, sizeof e);
		if (e == MQ_COMPRESSION_PRODUCER)
			s = "producer";
		else if (e >= 0 && e < 5)
			s = codec_names[e];
		else
			snprintf(tmp, sizeof tmp, "%d", e);
		break;
	case K_TSTYPE:
		memcpy(&e, field, sizeof e);
		if (e == MQ_TS_CREATE)
			s = "CreateTime";
		else if (e == MQ_TS_LOG_APPEND)
			s = "LogAppendTime";
		else
			snprintf(tmp, sizeof tmp, "%d", e);
		break;
	}
	if (len > 0)
		snprintf(buf, len, "%s", s);
	return MQ_OK;
}

/*
 * mq_config_format renders cfg as a complete INI file: a comment line,
 * then "key = value" for every key in mq_config_keys() order.  Returns a
 * malloc'ed string, or NULL when out of memory.
 */
char *mq_config_format(const mq_config *cfg)
{
	static const char head[] = "# mq topic configuration "
	                           "(Kafka key names)\n";
	size_t cap = sizeof head + NKEYS * 128, len = 0;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	len = (size_t)snprintf(out, cap, "%s", head);
	for (size_t i = 0; i < NKEYS; i++) {
		char val[64];
		mq_config_get(cfg, keys[i].name, val, sizeof val);
		len += (size_t)snprintf(out + len, cap - len, "%s = %s\n",
		                        keys[i].name, val);
	}
	return out;
}

/* State of one mq_config_load. */
struct load {
	FILE *fp;
	const char *path;
	mq_config cfg;
	int lineno;          /* lines handed to inih so far */
	int errline;         /* line of the first error, 0 if none */
	char errmsg[512];
	char *line;
	size_t cap;
};

static void load_error(struct load *ld, const char *msg)
{
	if (ld->errline)
		return;
	ld->errline = ld->lineno;
	snprintf(ld->errmsg, sizeof ld->errmsg, "%s", msg);
}

/*
 * load_reader hands inih one whole line at a time, so that inih's line
 * numbers are the file's; a line longer than inih's buffer is an error
 * rather than being split or cut.
 */
static char *load_reader(char *str, int num, void *stream)
{
	struct load *ld = stream;
	ssize_t n = getline(&ld->line, &ld->cap, ld->fp);
	if (n < 0)
		return NULL;
	ld->lineno++;
	if (num < 3 || (size_t)n > (size_t)num - 3) {
		load_error(ld, "line too long");
		snprintf(str, (size_t)num, "\n");
		return str;
	}
	memcpy(str, ld->line, (size_t)n + 1);
	return str;
}

static int load_handler(void *user, const char *section, const char *name,
                        const char *value)
{
	struct load *ld = user;
	char buf[300], msg[400];
	if (*section && strcmp(section, "topic") != 0) {
		snprintf(msg, sizeof msg, "key '%s' in unknown section [%s]",
		         show(name, buf, sizeof buf), section);
		load_error(ld, msg);
		return 0;
	}
	/* Drop a "# comment" after the value (inih strips only ';'). */
	char val[512];
	snprintf(val, sizeof val, "%s", value);
	for (char *p = val; *p; p++) {
		if (*p == '#' && (p == val || p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			break;
		}
	}
	size_t n = strlen(val);
	while (n > 0 && (val[n - 1] == ' ' || val[n - 1] == '\t'))
		val[--n] = '\0';
	if (mq_config_set(&ld->cfg, name, val) < 0) {
		load_error(ld, mq_errmsg());
		return 0;
	}
	return 1;
}

/*
 * mq_config_load applies the keys of the INI file at path on top of *cfg.
 * Keys belong at the top level or in a [topic] section.  An unknown key, a
 * bad value or a syntax error is MQ_ECONFIG with "PATH:LINE: ..." in
 * mq_errmsg(); a file that cannot be opened is MQ_EIO with errno set (ENOENT
 * when it is missing), a symbolic link MQ_EINVAL (config files live in the
 * data directory, where no link is followed).  On failure *cfg is
 * unchanged.
 */
int mq_config_load(mq_config *cfg, const char *path)
{
	struct load ld = { .path = path, .cfg = *cfg };
	int fd = mq_open_nofollow(path, O_RDONLY, 0);
	if (fd < 0)
		return fd;
	ld.fp = fdopen(fd, "r");
	if (!ld.fp) {
		int e = errno;
		close(fd);
		errno = e;
		return mq_fail(MQ_EIO, "cannot open '%s'", path);
	}
	int rc = ini_parse_stream(load_reader, &ld, load_handler, &ld);
	int rerr = ferror(ld.fp);
	int e = errno;
	fclose(ld.fp);
	free(ld.line);
	if (rerr) {
		errno = e ? e : EIO;
		return mq_fail(MQ_EIO, "cannot read '%s'", path);
	}
	if (rc == -2)
		return mq_fail(MQ_ENOMEM, "%s: out of memory", path);
	if (rc != 0 && (ld.errline == 0 || rc < ld.errline))
		return mq_fail(MQ_ECONFIG, "%s:%d: syntax error (expected "
		               "'key = value' or '[topic]')", path, rc);
	if (ld.errline)
		return mq_fail(MQ_ECONFIG, "%s:%d: %s", path, ld.errline,
		               ld.errmsg);
	*cfg = ld.cfg;
	return MQ_OK;
}
