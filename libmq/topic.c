/*
 * topic.c - creating, altering and opening topics (topic_delete.c deletes
 * them).
 *
 * A topic is DIR/.mq/topics/NAME.conf (mq's own, a full config snapshot)
 * plus the Kafka partition directories DIR/NAME-0 .. DIR/NAME-(N-1).  The
 * config file is written last on create and removed first on delete, so a
 * topic with a config file is whole.  A topic without one but with
 * DIR/NAME-0 is a bare Kafka topic copied in from a broker.  Admin
 * operations are serialised by an flock on DIR/.mq/admin.lock; appenders
 * never take it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "internal.h"
#include "lock.h"
#include "nofollow.h"
#include "topic.h"


static const char *const first_segment[] = {
	"00000000000000000000.log",
	"00000000000000000000.index",
	"00000000000000000000.timeindex",
};

/* mq_pathf formats a path into buf[PATH_MAX]; MQ_EINVAL if it does not fit. */
int mq_pathf(char *buf, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, PATH_MAX, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= PATH_MAX)
		return mq_fail(MQ_EINVAL, "path too long: %s...", buf);
	return MQ_OK;
}

/* mkdir_durable creates dir (fine if it is there) and makes it durable. */
static int mkdir_durable(const char *dir, const char *parent)
{
	struct stat st;
	if (mkdir(dir, 0755) == 0)
		return mq_fsync_dir(parent);
	if (errno != EEXIST)
		return mq_fail(MQ_EIO, "cannot create directory '%s'", dir);
	if (lstat(dir, &st) < 0)
		return mq_fail(MQ_EIO, "cannot create directory '%s'", dir);
	if (S_ISLNK(st.st_mode))
		return mq_refuse_symlink(dir);
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return mq_fail(MQ_EIO, "cannot create directory '%s'", dir);
	}
	return MQ_OK;
}

/*
 * admin_lock creates DIR/.mq/topics if needed and returns a descriptor
 * holding the exclusive admin lock, or a negative MQ_E* code.
 */
int mq_admin_lock(mq_env *env, int flags)
{
	char meta[PATH_MAX], topics[PATH_MAX];
	int rc;
	if ((rc = mq_pathf(meta, "%s/%s", env->path, MQ_META_DIR)) < 0 ||
	    (rc = mq_pathf(topics, "%s/%s", env->path, MQ_TOPICS_DIR)) < 0)
		return rc;
	if ((rc = mkdir_durable(meta, env->path)) < 0 ||
	    (rc = mkdir_durable(topics, meta)) < 0)
		return rc;
	return mq_lock_file(meta, "admin.lock", flags, "another process");
}

int mq_conf_path(mq_env *env, const char *name, char *buf)
{
	return mq_pathf(buf, "%s/%s/%s.conf", env->path, MQ_TOPICS_DIR, name);
}

/* bare_count counts the consecutive directories NAME-0, NAME-1, ... */
static int32_t bare_count(mq_env *env, const char *name)
{
	char path[PATH_MAX];
	struct stat st;
	int32_t n = 0;
	while (n < 1000000) {
		if (mq_pathf(path, "%s/%s-%d", env->path, name, (int)n) < 0 ||
		    lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
			break;
		n++;
	}
	return n;
}

/*
 * read_topic loads the config of topic name into *cfg (env defaults under
 * the conf file, or the env defaults and the partition count of a bare
 * Kafka topic).  *has_conf tells which.  MQ_ENOTOPIC if neither.
 */
static int read_topic(mq_env *env, const char *name, mq_config *cfg,
                      int *has_conf)
{
	char path[PATH_MAX];
	int rc = mq_conf_path(env, name, path);
	if (rc < 0)
		return rc;
	*cfg = env->defaults;
	*has_conf = 0;
	if ((rc = mq_refuse_symlinks(env->path, path + strlen(env->path) +
	                             1)) < 0)
		return rc;
	rc = mq_config_load(cfg, path);
	if (rc == MQ_OK) {
		*has_conf = 1;
		return MQ_OK;
	}
	if (rc != MQ_EIO || errno != ENOENT)
		return rc;
	int32_t n = bare_count(env, name);
	if (n == 0)
		return mq_fail(MQ_ENOTOPIC, "no such topic '%s' in %s", name,
		               env->path);
	*cfg = env->defaults;
	cfg->partitions = n;
	return MQ_OK;
}

/*
 * validate checks every field of cfg by rendering it and parsing it back,
 * so the rules live in one place (config.c).  MQ_ECONFIG on a bad field.
 */
static int validate(const mq_config *cfg)
{
	mq_config scratch = *cfg;
	char val[64];
	for (const char *const *k = mq_config_keys(); *k; k++) {
		int rc = mq_config_get(cfg, *k, val, sizeof val);
		if (rc == MQ_OK)
			rc = mq_config_set(&scratch, *k, val);
		if (rc < 0)
			return rc;
	}
	return MQ_OK;
}

/*
 * open_dir opens directory path for listing without following a symbolic
 * link; NULL on failure (a symbolic link then counts as empty).
 */
static DIR *open_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d && fd >= 0)
		close(fd);
	return d;
}

/* has_data tells whether directory path holds a non-empty file. */
static int has_data(const char *path)
{
	DIR *d = open_dir(path);
	if (!d)
		return 0;
	struct dirent *de;
	struct stat st;
	int found = 0;
	while (!found && (de = readdir(d)))
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode) && st.st_size > 0)
			found = 1;
	closedir(d);
	return found;
}

/* has_log tells whether directory path holds a *.log segment. */
static int has_log(const char *path)
{
	DIR *d = open_dir(path);
	if (!d)
		return 0;
	struct dirent *de;
	int found = 0;
	while (!found && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		found = n > 4 && strcmp(de->d_name + n - 4, ".log") == 0;
	}
	closedir(d);
	return found;
}

/*
 * touch creates the empty file name in the directory open as dfd (path dir)
 * unless it is there; a symbolic link is refused, never followed.
 */
static int touch(int dfd, const char *dir, const char *file)
{
	int fd = mq_openat_nofollow(dfd, dir, file, O_WRONLY | O_CREAT, 0644);
	if (fd < 0)
		return fd;
	close(fd);
	return MQ_OK;
}

/*
 * make_partition creates DIR/NAME-P (an existing directory is fine) with
 * its lock file and, unless it has a segment already, an empty first
 * segment, and fsyncs it.  *created tells whether the directory is new.
 */
static int make_partition(mq_env *env, const char *name, int32_t p,
                          int *created)
{
	char dir[PATH_MAX];
	struct stat st;
	int rc = mq_pathf(dir, "%s/%s-%d", env->path, name, (int)p);
	if (rc < 0)
		return rc;
	*created = 0;
	if (mkdir(dir, 0755) == 0) {
		*created = 1;
	} else if (errno != EEXIST) {
		return mq_fail(MQ_EIO, "cannot create directory '%s'", dir);
	} else if ((rc = mq_refuse_symlink(dir)) < 0) {
		return rc;
	} else if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return mq_fail(MQ_EIO, "cannot create partition directory "
		               "'%s'", dir);
	}
	/* Files are made relative to the directory, so a symbolic link
	 * swapped in for it cannot redirect them. */
	int dfd = mq_opendir_nofollow(dir);
	if (dfd < 0)
		return dfd;
	rc = touch(dfd, dir, MQ_LOCK_FILE);
	if (rc == MQ_OK && (*created || !has_log(dir)))
		for (size_t i = 0; rc == MQ_OK && i < 3; i++)
			rc = touch(dfd, dir, first_segment[i]);
	if (rc == MQ_OK && fsync(dfd) < 0 && errno != EINVAL)
		rc = mq_fail(MQ_EIO, "cannot fsync directory '%s'", dir);
	close(dfd);
	return rc;
}

/* unmake_partition undoes make_partition of a directory it created. */
static void unmake_partition(mq_env *env, const char *name, int32_t p)
{
	char dir[PATH_MAX];
	if (mq_pathf(dir, "%s/%s-%d", env->path, name, (int)p) < 0)
		return;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return;
	for (size_t i = 0; i < 3; i++)
		unlinkat(dfd, first_segment[i], 0);
	unlinkat(dfd, MQ_LOCK_FILE, 0);
	close(dfd);
	rmdir(dir);
}

/*
 * ungrow removes the partition directories from..to-1 of name that hold
 * no data, undoing a failed grow or create.
 */
static void ungrow(mq_env *env, const char *name, int32_t from, int32_t to)
{
	char dir[PATH_MAX];
	for (int32_t p = from; p < to; p++)
		if (mq_pathf(dir, "%s/%s-%d", env->path, name, (int)p) == 0 &&
		    !has_data(dir))
			unmake_partition(env, name, p);
}

/*
 * grow creates partitions from..to-1 of name and makes the new entries in
 * DIR durable.  On failure the empty directories are removed again.
 */
static int grow(mq_env *env, const char *name, int32_t from, int32_t to)
{
	int rc = MQ_OK, created = 0, any = 0;
	int32_t p;
	for (p = from; p < to; p++) {
		if ((rc = make_partition(env, name, p, &created)) < 0) {
			ungrow(env, name, from, p + 1);
			return rc;
		}
		any |= created;
	}
	if (any && (rc = mq_fsync_dir(env->path)) < 0)
		ungrow(env, name, from, to);
	return rc;
}

/*
 * write_conf puts the config file of name in place atomically: written to
 * a temporary file, fsynced, renamed, and the directory fsynced.  The
 * temporary name is short because NAME.conf.tmp would not fit in NAME_MAX
 * for names near Kafka's 249-character limit.
 */
static int write_conf(mq_env *env, const char *name, const mq_config *cfg)
{
	char path[PATH_MAX], tmp[PATH_MAX], topics[PATH_MAX];
	int rc;
	if ((rc = mq_conf_path(env, name, path)) < 0 ||
	    (rc = mq_pathf(topics, "%s/%s", env->path, MQ_TOPICS_DIR)) < 0 ||
	    (rc = mq_pathf(tmp, "%s/.tmp-XXXXXX", topics)) < 0)
		return rc;
	char *text = mq_config_format(cfg);
	if (!text)
		return mq_fail(MQ_ENOMEM, "out of memory");
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		free(text);
		return mq_fail(MQ_EIO, "cannot create a temporary file in '%s'",
		               topics);
	}
	size_t len = strlen(text), off = 0;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		off += (size_t)n;
	}
	free(text);
	if (off < len || fchmod(fd, 0644) < 0 || fsync(fd) < 0) {
		int e = errno;
		close(fd);
		unlink(tmp);
		errno = e;
		return mq_fail(MQ_EIO, "cannot write '%s'", tmp);
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		errno = e;
		return mq_fail(MQ_EIO, "cannot write '%s'", path);
	}
	return mq_fsync_dir(topics);
}

/*
 * mq_topic_create creates topic name with cfg (NULL: the env defaults):
 * partition directories first, config file last.  MQ_EBADNAME, MQ_ECONFIG,
 * MQ_EEXIST (unless MQ_IF_NOT_EXISTS), MQ_EIO; on failure the partition
 * directories it made are removed again.
 */
int mq_topic_create(mq_env *env, const char *name, const mq_config *cfg,
                    int flags)
{
	char path[PATH_MAX];
	struct stat st;
	mq_config c;
	int rc = mq_name_check(name, "topic");
	if (rc < 0)
		return rc;
	if (cfg)
		c = *cfg;
	else
		mq_env_defaults(env, &c);
	if ((rc = validate(&c)) < 0)
		return mq_fail_prefix(rc, "topic '%s'", name);
	int lock = mq_admin_lock(env, flags);
	if (lock < 0)
		return lock;
	if ((rc = mq_conf_path(env, name, path)) < 0)
		goto out;
	int exists = lstat(path, &st) == 0;
	for (int32_t p = 0; !exists && p < c.partitions; p++) {
		if ((rc = mq_pathf(path, "%s/%s-%d", env->path, name, (int)p)) < 0)
			goto out;
		if (p == 0 && lstat(path, &st) == 0 && !S_ISDIR(st.st_mode))
			exists = 1;
		exists |= has_data(path);
	}
	if (exists) {
		rc = (flags & MQ_IF_NOT_EXISTS) ? MQ_OK :
		     mq_fail(MQ_EEXIST, "topic '%s' already exists in %s",
		             name, env->path);
		goto out;
	}
	if ((rc = grow(env, name, 0, c.partitions)) < 0)
		goto out;
	if ((rc = write_conf(env, name, &c)) < 0)
		ungrow(env, name, 0, c.partitions);
out:
	mq_unlock(lock);
	return rc;
}

/*
 * mq_topic_alter replaces the config of topic name with cfg, creating new
 * partition directories first when cfg->partitions grows.  MQ_EINVAL for
 * fewer partitions, MQ_ENOTOPIC, MQ_ECONFIG, MQ_EIO.  A bare Kafka topic
 * is adopted: it gets a config file.
 */
int mq_topic_alter(mq_env *env, const char *name, const mq_config *cfg)
{
	mq_config old;
	int has_conf;
	int rc = mq_name_check(name, "topic");
	if (rc < 0)
		return rc;
	if (!cfg)
		return mq_fail(MQ_EINVAL, "topic '%s': no config given", name);
	if ((rc = validate(cfg)) < 0)
		return mq_fail_prefix(rc, "topic '%s'", name);
	int lock = mq_admin_lock(env, 0);
	if (lock < 0)
		return lock;
	if ((rc = read_topic(env, name, &old, &has_conf)) < 0)
		goto out;
	if (cfg->partitions < old.partitions) {
		rc = mq_fail(MQ_EINVAL, "cannot reduce partitions of '%s' "
		             "from %d to %d", name, (int)old.partitions,
		             (int)cfg->partitions);
		goto out;
	}
	if ((rc = grow(env, name, old.partitions, cfg->partitions)) < 0)
		goto out;
	rc = write_conf(env, name, cfg);
out:
	mq_unlock(lock);
	return rc;
}

/*
 * mq_topic_open opens topic name, reading its config file (or, for a bare
 * Kafka topic, taking the env defaults and counting NAME-0, NAME-1, ...).
 * MQ_EBADNAME, MQ_ENOTOPIC, MQ_ECONFIG, MQ_ENOMEM; *out is NULL then.
 */
int mq_topic_open(mq_env *env, const char *name, mq_topic **out)
{
	mq_config cfg;
	int has_conf;
	*out = NULL;
	int rc = mq_name_check(name, "topic");
	if (rc < 0)
		return rc;
	if ((rc = read_topic(env, name, &cfg, &has_conf)) < 0)
		return rc;
	mq_topic *t = calloc(1, sizeof *t);
	if (!t || !(t->name = strdup(name)) ||
	    !(t->parts = calloc((size_t)cfg.partitions, sizeof *t->parts))) {
		if (t)
			free(t->name);
		free(t);
		return mq_fail(MQ_ENOMEM, "out of memory");
	}
	t->env = env;
	t->cfg = cfg;
	t->nparts = cfg.partitions;
	t->hold_ns = (int64_t)MQ_HOLD_MS * 1000000;
	*out = t;
	return MQ_OK;
}

/* mq_topic_close frees the handle and its partitions' state; NULL is ok. */
void mq_topic_close(mq_topic *t)
{
	if (!t)
		return;
	mq_release_locks(t); /* a forked child may share the descriptors */
	for (int32_t i = 0; i < t->nparts; i++)
		mq_part_free(t->parts[i]);
	free(t->parts);
	free(t->name);
	free(t);
}

/* mq_topic_name returns the topic's name; it cannot fail. */
const char *mq_topic_name(const mq_topic *t)
{
	return t->name;
}

/* mq_topic_partitions returns the partition count; it cannot fail. */
int32_t mq_topic_partitions(const mq_topic *t)
{
	return t->nparts;
}

/* mq_topic_config returns the config read at open; it cannot fail. */
const mq_config *mq_topic_config(const mq_topic *t)
{
	return &t->cfg;
}

/*
 * mq_partition_path writes "DIR/NAME-P" to buf.  MQ_ERANGE for a partition
 * the topic does not have, MQ_EINVAL if buf is too small or DIR/NAME-P is
 * a symbolic link (which no tool follows; see nofollow.h).
 */
int mq_partition_path(const mq_topic *t, int32_t p, char *buf, size_t len)
{
	if (p < 0 || p >= t->nparts)
		return mq_fail(MQ_ERANGE, "topic '%s' has no partition %d "
		               "(it has %d)", t->name, (int)p, (int)t->nparts);
	int n = snprintf(buf, len, "%s/%s-%d", t->env->path, t->name, (int)p);
	if (n < 0 || (size_t)n >= len)
		return mq_fail(MQ_EINVAL, "buffer too small for the path of "
		               "topic '%s' partition %d", t->name, (int)p);
	return mq_refuse_symlink(buf);
}
