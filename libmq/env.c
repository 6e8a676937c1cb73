/*
 * env.c - the data directory: opening it, its defaults (DIR/mq.conf), the
 * list of topics in it, and the naming rule.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "internal.h"
#include "nofollow.h"

/* mkdir_p creates path and its missing parents, like mkdir -p. */
static int mkdir_p(const char *path)
{
	char buf[PATH_MAX];
	struct stat st;
	if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
		return mq_fail(MQ_EINVAL, "path too long: %s", path);
	for (char *p = buf + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return mq_fail(MQ_EIO, "cannot create directory '%s'",
			               buf);
		if (stat(buf, &st) < 0)
			return mq_fail(MQ_EIO, "cannot create directory '%s'",
			               buf);
		if (!S_ISDIR(st.st_mode)) {
			errno = ENOTDIR;
			return mq_fail(MQ_EIO, "cannot create directory '%s'",
			               buf);
		}
		*p = c;
		if (c == '\0')
			break;
		while (p[1] == '/')
			p++;
	}
	return MQ_OK;
}

/*
 * mq_env_open opens the data directory dir, creating it with MQ_CREATE,
 * and reads DIR/mq.conf over Kafka's defaults.  MQ_EIO (errno ENOENT) for
 * a missing directory, MQ_ECONFIG for a malformed mq.conf; *out is NULL on
 * failure.
 */
int mq_env_open(const char *dir, int flags, mq_env **out)
{
	struct stat st;
	char conf[PATH_MAX];
	*out = NULL;
	if (!dir || !*dir)
		return mq_fail(MQ_EINVAL, "empty data directory path");
	if (strlen(dir) >= PATH_MAX - 512)
		return mq_fail(MQ_EINVAL, "data directory path too long: %s",
		               dir);
	if (flags & MQ_CREATE) {
		int rc = mkdir_p(dir);
		if (rc < 0)
			return rc;
	}
	if (stat(dir, &st) < 0) {
		if (errno == ENOENT)
			return mq_fail(MQ_EIO, "data directory '%s' does not "
			               "exist", dir);
		return mq_fail(MQ_EIO, "cannot open data directory '%s'", dir);
	}
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return mq_fail(MQ_EIO, "cannot open data directory '%s'", dir);
	}
	mq_env *env = calloc(1, sizeof *env);
	if (!env || !(env->path = strdup(dir))) {
		free(env);
		return mq_fail(MQ_ENOMEM, "out of memory");
	}
	/* Trailing slashes only make paths ugly ("dir//t-0"). */
	size_t n = strlen(env->path);
	while (n > 1 && env->path[n - 1] == '/')
		env->path[--n] = '\0';
	mq_config_defaults(&env->defaults);
	snprintf(conf, sizeof conf, "%s/mq.conf", env->path);
	int rc = mq_config_load(&env->defaults, conf);
	if (rc < 0 && !(rc == MQ_EIO && errno == ENOENT)) {
		mq_env_close(env);
		return rc;
	}
	*out = env;
	return MQ_OK;
}

/* mq_env_close frees the handle; NULL is allowed. */
void mq_env_close(mq_env *env)
{
	if (!env)
		return;
	free(env->path);
	free(env);
}

/* mq_env_path returns the data directory's path; it cannot fail. */
const char *mq_env_path(const mq_env *env)
{
	return env->path;
}

/* mq_env_defaults copies the defaults for new topics; it cannot fail. */
void mq_env_defaults(const mq_env *env, mq_config *cfg)
{
	*cfg = env->defaults;
}

/*
 * mq_name_valid returns 1 for a legal topic or group name under Kafka's
 * rule ([A-Za-z0-9._-], 1 to 249 characters, not "." or ".."), else 0.
 */
int mq_name_valid(const char *name)
{
	if (!name)
		return 0;
	size_t n = 0;
	for (const char *p = name; *p; p++, n++) {
		char c = *p;
		if (n >= 249)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return 0;
	}
	return n > 0 && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

/* A growable list of names for mq_topic_list. */
struct names {
	char **v;
	size_t n, cap;
};

static int names_add(struct names *l, const char *s, size_t len)
{
	if (l->n + 2 > l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		char **v = realloc(l->v, cap * sizeof *v);
		if (!v)
			return mq_fail(MQ_ENOMEM, "out of memory");
		l->v = v;
		l->cap = cap;
	}
	if (!(l->v[l->n] = strndup(s, len)))
		return mq_fail(MQ_ENOMEM, "out of memory");
	l->n++;
	return MQ_OK;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * partition_dir_topic returns the length of the topic part of a Kafka
 * partition directory name "TOPIC-N" (N a decimal number without leading
 * zeros), or 0 if ent is not one.
 */
static size_t partition_dir_topic(const char *ent)
{
	const char *dash = strrchr(ent, '-');
	if (!dash || dash == ent || dash[1] == '\0')
		return 0;
	const char *num = dash + 1;
	if (strspn(num, "0123456789") != strlen(num) ||
	    (num[0] == '0' && num[1] != '\0') || strlen(num) > 9)
		return 0;
	return (size_t)(dash - ent);
}

static int list_confs(mq_env *env, struct names *l)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", env->path, MQ_TOPICS_DIR);
	/* The configs are listed only from real directories. */
	int rc = mq_refuse_symlinks(env->path, MQ_TOPICS_DIR);
	if (rc < 0)
		return rc;
	DIR *d = opendir(path);
	if (!d) {
		if (errno == ENOENT)
			return MQ_OK;
		return mq_fail(MQ_EIO, "cannot read directory '%s'", path);
	}
	struct dirent *de;
	errno = 0;
	while (rc == MQ_OK && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n <= 5 || strcmp(de->d_name + n - 5, ".conf") != 0)
			continue;
		char name[256];
		if (n - 5 >= sizeof name)
			continue;
		memcpy(name, de->d_name, n - 5);
		name[n - 5] = '\0';
		if (mq_name_valid(name))
			rc = names_add(l, name, n - 5);
		errno = 0;
	}
	if (rc == MQ_OK && errno != 0)
		rc = mq_fail(MQ_EIO, "cannot read directory '%s'", path);
	closedir(d);
	return rc;
}

static int list_partition_dirs(mq_env *env, struct names *l)
{
	DIR *d = opendir(env->path);
	if (!d)
		return mq_fail(MQ_EIO, "cannot read directory '%s'", env->path);
	struct dirent *de;
	int rc = MQ_OK;
	errno = 0;
	while (rc == MQ_OK && (de = readdir(d))) {
		size_t n = partition_dir_topic(de->d_name);
		char name[256];
		if (n == 0 || n >= sizeof name)
			goto next;
		memcpy(name, de->d_name, n);
		name[n] = '\0';
		if (!mq_name_valid(name))
			goto next;
		if (de->d_type != DT_DIR) {
			struct stat st;
			if (de->d_type != DT_UNKNOWN ||
			    fstatat(dirfd(d), de->d_name, &st,
			            AT_SYMLINK_NOFOLLOW) < 0 ||
			    !S_ISDIR(st.st_mode))
				goto next;
		}
		rc = names_add(l, name, n);
next:
		errno = 0;
	}
	if (rc == MQ_OK && errno != 0)
		rc = mq_fail(MQ_EIO, "cannot read directory '%s'", env->path);
	closedir(d);
	return rc;
}

/*
 * mq_topic_list stores in *names the sorted, de-duplicated names of the
 * topics with a config file and of bare Kafka partition directories.  On
 * failure (MQ_EIO, MQ_ENOMEM) *names is NULL.
 */
int mq_topic_list(mq_env *env, char ***names)
{
	struct names l = { 0 };
	*names = NULL;
	int rc = list_confs(env, &l);
	if (rc == MQ_OK)
		rc = list_partition_dirs(env, &l);
	if (rc == MQ_OK && !l.v && !(l.v = malloc(sizeof *l.v)))
		rc = mq_fail(MQ_ENOMEM, "out of memory");
	if (rc < 0) {
		for (size_t i = 0; i < l.n; i++)
			free(l.v[i]);
		free(l.v);
		return rc;
	}
	qsort(l.v, l.n, sizeof *l.v, cmp_names);
	size_t w = 0;
	for (size_t i = 0; i < l.n; i++) {
		if (w > 0 && strcmp(l.v[w - 1], l.v[i]) == 0)
			free(l.v[i]);
		else
			l.v[w++] = l.v[i];
	}
	l.v[w] = NULL;
	*names = l.v;
	return MQ_OK;
}

/* mq_free_list frees an array from mq_topic_list; NULL is allowed. */
void mq_free_list(char **list)
{
	if (!list)
		return;
	for (char **p = list; *p; p++)
		free(*p);
	free(list);
}

/*
 * mq_name_check fails with MQ_EBADNAME and a specific reason unless name is
 * a valid topic or group name (what says which, for the message).  The name is quoted safely: printable ASCII as is,
 * anything else as \xNN, cut after 64 characters.
 */
int mq_name_check(const char *name, const char *what)
{
	char shown[300], why[128];
	if (!name)
		return mq_fail(MQ_EBADNAME, "missing %s name", what);
	if (mq_name_valid(name))
		return MQ_OK;
	size_t o = 0, n = 0;
	for (const char *p = name; *p && n < 64; p++, n++) {
		unsigned char c = (unsigned char)*p;
		if (c >= 0x20 && c < 0x7f && c != '\\')
			shown[o++] = (char)c;
		else
			o += (size_t)sprintf(shown + o, "\\x%02x", c);
	}
	if (name[n])
		o += (size_t)sprintf(shown + o, "...");
	shown[o] = '\0';
	size_t len = strlen(name);
	if (len == 0) {
		snprintf(why, sizeof why, "the name is empty");
	} else if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
		snprintf(why, sizeof why, "'.' and '..' are not allowed");
	} else {
		const char *bad = name + strspn(name, "abcdefghijklmnopqrstuvwxyz"
		        "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");
		unsigned char c = (unsigned char)*bad;
		if (c == '\0')
			snprintf(why, sizeof why, "%zu characters, at most 249 "
			         "are allowed", len);
		else if (c > 0x20 && c < 0x7f && c != '\\')
			snprintf(why, sizeof why, "character '%c' is not "
			         "allowed (only A-Z a-z 0-9 . _ -)", c);
		else if (c == ' ')
			snprintf(why, sizeof why, "a space is not allowed "
			         "(only A-Z a-z 0-9 . _ -)");
		else
			snprintf(why, sizeof why, "character \\x%02x is not "
			         "allowed (only A-Z a-z 0-9 . _ -)", c);
	}
	return mq_fail(MQ_EBADNAME, "invalid %s name '%s': %s", what, shown, why);
}
