/*
 * Directory scans for listings, in one thread-pool job each (SECURITY.md lists this file).
 *
 * scanDir(root, path, max, order): the directory is opened through the confined layer
 * (confined.c: openat2 below the account root, as the account's identity), read with readdir, every
 * entry stat'ed relative to that descriptor without following symlinks (fstatat AT_SYMLINK_NOFOLLOW,
 * readlinkat for link targets), and sorted when asked. lstatNames(root, dir, names) stats given names
 * of one directory the same way (glob matches, `LIST file` arguments).
 *
 * Why: a listing of N entries through fs.promises costs N thread-pool round trips and N promises;
 * Pure-FTPd lists 10,000 entries in ~40 ms with direct lstat calls. Doing the whole scan in one
 * background job gives the same cost without blocking the event loop.
 *
 * Guarantees: at most `max` entries are returned (the caller's bound); names and link targets are
 * returned as bytes, never re-encoded; helper threads inherit the scanning thread's (account's)
 * credentials and end before the job does; every N-API status is checked.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include "confined.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>
#include <pthread.h>

/* Per entry: mode, size, mtime (ms), nlink, uid, gid, ino, dev. */
#define FIELDS 8
#define LINK_MAX_BYTES 4096

typedef struct {
  char *name;
  double stats[FIELDS];
  char *link; /* symlink target or NULL */
  ssize_t link_len;
  size_t index; /* readdir position: the tie-break that keeps every sort stable */
} Entry;

/* Listing orders (upstream §2.4): none (readdir), name (strcmp, as ls does), newest first, largest first. */
enum { ORDER_NONE = 0, ORDER_NAME = 1, ORDER_MTIME = 2, ORDER_SIZE = 3, NAMES_ONLY = 4 };

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  Root *root;
  char *path;
  /* lstatNames: the names to stat (NUL-separated), kept in the given order, missing ones marked. */
  char *given;
  size_t given_len;
  size_t max;
  int err;           /* errno of a failure opening the directory */
  int truncated;     /* more entries existed than max */
  int order;         /* ORDER_* */
  Entry *entries;
  size_t count;
  size_t capacity;
} ScanJob;

/* Fills stats (and link) of entries [from, to) relative to dirfd. */
typedef struct {
  int dirfd;
  Entry *entries;
  size_t from, to;
} StatRange;

static void stat_entry(int dirfd, Entry *e) {
  struct stat st;
  if (fstatat(dirfd, e->name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    e->stats[0] = -1; /* vanished meanwhile: dropped by the caller */
    return;
  }
  e->stats[0] = (double)st.st_mode;
  e->stats[1] = (double)st.st_size;
  e->stats[2] = (double)st.st_mtim.tv_sec * 1000.0 + (double)(st.st_mtim.tv_nsec / 1000000);
  e->stats[3] = (double)st.st_nlink;
  e->stats[4] = (double)st.st_uid;
  e->stats[5] = (double)st.st_gid;
  e->stats[6] = (double)st.st_ino;
  e->stats[7] = (double)st.st_dev;
  if (S_ISLNK(st.st_mode)) {
    char buf[LINK_MAX_BYTES];
    ssize_t n = readlinkat(dirfd, e->name, buf, sizeof buf);
    if (n >= 0 && (e->link = malloc((size_t)n + 1)) != NULL) {
      memcpy(e->link, buf, (size_t)n);
      e->link[n] = '\0';
      e->link_len = n;
    }
  }
}

static void *stat_range(void *arg) {
  StatRange *r = arg;
  for (size_t i = r->from; i < r->to; i++) stat_entry(r->dirfd, &r->entries[i]);
  return NULL;
}

static int by_index(const Entry *a, const Entry *b) {
  return a->index < b->index ? -1 : a->index > b->index ? 1 : 0;
}

static int vanished_last(const Entry *a, const Entry *b) {
  return (a->stats[0] < 0) - (b->stats[0] < 0);
}

static int cmp_name(const void *x, const void *y) {
  const Entry *a = x, *b = y;
  int v = vanished_last(a, b);
  if (v != 0) return v;
  int c = strcmp(a->name, b->name);
  return c != 0 ? c : by_index(a, b);
}

static int cmp_mtime(const void *x, const void *y) {
  const Entry *a = x, *b = y;
  int v = vanished_last(a, b);
  if (v != 0) return v;
  /* Whole seconds, newest first: ls compares time_t (upstream §2.4 -t). */
  double ta = (double)(long long)(a->stats[2] / 1000), tb = (double)(long long)(b->stats[2] / 1000);
  return ta > tb ? -1 : ta < tb ? 1 : by_index(a, b);
}

static int cmp_size(const void *x, const void *y) {
  const Entry *a = x, *b = y;
  int v = vanished_last(a, b);
  if (v != 0) return v;
  return a->stats[1] > b->stats[1] ? -1 : a->stats[1] < b->stats[1] ? 1 : by_index(a, b);
}

static int (*const compare_entries[4])(const void *, const void *) = {NULL, cmp_name, cmp_mtime, cmp_size};

/* Entries per helper thread below which one thread does all the stat calls. */
#define PARALLEL_MIN 2048
#define MAX_HELPERS 3

/* Appends an entry named `name` (len bytes); 0 or ENOMEM. */
static int add_entry(ScanJob *job, const char *name, size_t len) {
  if (job->count == job->capacity) {
    size_t cap = job->capacity == 0 ? 256 : job->capacity * 2;
    Entry *grown = realloc(job->entries, cap * sizeof(Entry));
    if (grown == NULL) return ENOMEM;
    job->entries = grown;
    job->capacity = cap;
  }
  Entry *e = &job->entries[job->count];
  e->name = malloc(len + 1);
  if (e->name == NULL) return ENOMEM;
  memcpy(e->name, name, len);
  e->name[len] = '\0';
  memset(e->stats, 0, sizeof e->stats);
  e->link = NULL;
  e->link_len = 0;
  e->index = job->count;
  job->count++;
  return 0;
}

/* Reads the names of the open directory (at most job->max); the descriptor stays open. */
static void read_names(ScanJob *job, int fd) {
  int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  DIR *dir = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
  if (dir == NULL) {
    job->err = errno;
    if (dup_fd >= 0) close(dup_fd);
    return;
  }
  struct dirent *de;
  errno = 0;
  while ((de = readdir(dir)) != NULL) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    if (job->count >= job->max) {
      job->truncated = 1;
      break;
    }
    if ((job->err = add_entry(job, de->d_name, strlen(de->d_name))) != 0) break;
    errno = 0;
  }
  /* readdir returns NULL at the end and on an error: only errno tells them apart. */
  if (de == NULL && errno != 0 && job->err == 0) job->err = errno;
  closedir(dir);
}

/* Stats every entry relative to fd, on helper threads for big directories. */
static void stat_all(ScanJob *job, int fd) {
  /* lstat is the cost of a listing (a few microseconds each): big directories use helper threads.
   * Threads are created from this one and so carry the same (account's) credentials. */
  size_t helpers = job->count / PARALLEL_MIN;
  if (helpers > MAX_HELPERS) helpers = MAX_HELPERS;
  pthread_t threads[MAX_HELPERS];
  StatRange ranges[MAX_HELPERS + 1];
  size_t parts = helpers + 1, per = (job->count + parts - 1) / parts;
  size_t started = 0;
  for (size_t k = 0; k < parts; k++) {
    size_t from = k * per > job->count ? job->count : k * per;
    size_t to = from + per > job->count ? job->count : from + per;
    ranges[k] = (StatRange){fd, job->entries, from, to};
  }
  for (size_t k = 1; k < parts; k++) {
    if (pthread_create(&threads[k - 1], NULL, stat_range, &ranges[k]) != 0) break;
    started++;
  }
  stat_range(&ranges[0]);
  for (size_t k = 1; k < parts; k++) {
    if (k - 1 < started) pthread_join(threads[k - 1], NULL);
    else stat_range(&ranges[k]); /* a thread could not start: do its share here */
  }
}

static void scan_execute(napi_env env, void *data) {
  (void)env;
  ScanJob *job = data;
  int e = confined_enter(job->root);
  if (e != 0) {
    job->err = e;
    return;
  }
  int fd = confined_open(job->root, job->path, O_RDONLY | O_DIRECTORY | O_NONBLOCK, 0, 1);
  if (fd < 0) {
    job->err = -fd;
    confined_leave(job->root);
    return;
  }
  if (job->given != NULL) {
    /* lstatNames: the given names, in order; a name is one path component. */
    for (size_t at = 0; at < job->given_len && job->err == 0;) {
      size_t len = strnlen(job->given + at, job->given_len - at);
      if (len == 0 || memchr(job->given + at, '/', len) != NULL) {
        job->err = EINVAL;
        break;
      }
      job->err = add_entry(job, job->given + at, len);
      at += len + 1;
    }
  } else {
    read_names(job, fd);
  }
  if ((job->err == 0 || job->count > 0) && job->order != NAMES_ONLY) stat_all(job, fd);
  close(fd);
  confined_leave(job->root);
  /* Sorting here keeps a 100,000-entry sort off the event loop. Vanished entries sort last. */
  if (job->given == NULL && job->order != ORDER_NONE && job->order != NAMES_ONLY && job->count > 1)
    qsort(job->entries, job->count, sizeof(Entry), compare_entries[job->order]);
}

static void free_job(napi_env env, ScanJob *job) {
  for (size_t i = 0; i < job->count; i++) {
    free(job->entries[i].name);
    free(job->entries[i].link);
  }
  if (job->work != NULL) napi_delete_async_work(env, job->work);
  if (job->root != NULL) confined_unref(job->root);
  free(job->entries);
  free(job->path);
  free(job->given);
  free(job);
}

/* Builds {names, ends, links, stats, truncated}; false when N-API failed. lstatNames keeps missing
 * entries (stats mode -1) so results line up with the names given; scans leave them out. */
static int build_scan(napi_env env, ScanJob *job, napi_value *out) {
  int keep_missing = job->given != NULL;
  napi_value result, names, ends, ends_buf, links, stats_buf, stats, truncated;
  size_t total = 0, kept = 0;
  for (size_t i = 0; i < job->count; i++) {
    if (!keep_missing && job->entries[i].stats[0] < 0) continue;
    total += strlen(job->entries[i].name);
    kept++;
  }
  void *blob = NULL, *ends_raw = NULL, *raw = NULL;
  if (napi_create_object(env, &result) != napi_ok || napi_create_buffer(env, total, &blob, &names) != napi_ok ||
      napi_create_arraybuffer(env, kept * sizeof(uint32_t), &ends_raw, &ends_buf) != napi_ok ||
      napi_create_typedarray(env, napi_uint32_array, kept, ends_buf, 0, &ends) != napi_ok ||
      napi_create_array(env, &links) != napi_ok ||
      napi_create_arraybuffer(env, kept * FIELDS * sizeof(double), &raw, &stats_buf) != napi_ok)
    return 0;
  double *stat_out = raw;
  uint32_t *end_at = ends_raw;
  size_t at = 0, j = 0;
  uint32_t nlinks = 0;
  for (size_t i = 0; i < job->count; i++) {
    Entry *e = &job->entries[i];
    if (!keep_missing && e->stats[0] < 0) continue;
    size_t n = strlen(e->name);
    memcpy((char *)blob + at, e->name, n);
    at += n;
    end_at[j] = (uint32_t)at;
    memcpy(stat_out + j * FIELDS, e->stats, sizeof e->stats);
    if (e->link != NULL) {
      /* links: flat [index, target bytes, index, target bytes, ...] — symlinks are rare. */
      napi_value index, target;
      void *copy;
      if (napi_create_uint32(env, (uint32_t)j, &index) != napi_ok ||
          napi_create_buffer_copy(env, (size_t)e->link_len, e->link, &copy, &target) != napi_ok ||
          napi_set_element(env, links, nlinks++, index) != napi_ok ||
          napi_set_element(env, links, nlinks++, target) != napi_ok)
        return 0;
    }
    j++;
  }
  if (napi_create_typedarray(env, napi_float64_array, kept * FIELDS, stats_buf, 0, &stats) != napi_ok ||
      napi_get_boolean(env, job->truncated, &truncated) != napi_ok ||
      napi_set_named_property(env, result, "names", names) != napi_ok ||
      napi_set_named_property(env, result, "ends", ends) != napi_ok ||
      napi_set_named_property(env, result, "links", links) != napi_ok ||
      napi_set_named_property(env, result, "stats", stats) != napi_ok ||
      napi_set_named_property(env, result, "truncated", truncated) != napi_ok)
    return 0;
  *out = result;
  return 1;
}

static void scan_complete(napi_env env, napi_status status, void *data) {
  ScanJob *job = data;
  napi_value result, code, msg, error;
  if (status == napi_ok && !(job->err != 0 && job->count == 0) && build_scan(env, job, &result)) {
    napi_resolve_deferred(env, job->deferred, result);
  } else {
    int err = job->err != 0 ? job->err : EIO;
    char text[64];
    snprintf(text, sizeof text, "scan failed: errno %d", err);
    if (napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg) == napi_ok &&
        napi_create_int32(env, err, &code) == napi_ok && napi_create_error(env, NULL, msg, &error) == napi_ok &&
        napi_set_named_property(env, error, "errno", code) == napi_ok)
      napi_reject_deferred(env, job->deferred, error);
  }
  free_job(env, job);
}

static napi_value queue_scan(napi_env env, ScanJob *job) {
  napi_value promise, name;
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "tsftpd_scan", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, scan_execute, scan_complete, job, &job->work) != napi_ok ||
      napi_queue_async_work(env, job->work) != napi_ok) {
    free_job(env, job);
    napi_throw_error(env, NULL, "could not queue a directory scan");
    return NULL;
  }
  return promise;
}

/* Common arguments: (root, path, ...). */
static ScanJob *new_scan(napi_env env, napi_value root_arg, napi_value path_arg) {
  Root *r = confined_root_arg(env, root_arg);
  if (r == NULL) return NULL;
  ScanJob *job = calloc(1, sizeof(ScanJob));
  if (job == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  job->path = confined_path_arg(env, path_arg);
  if (job->path == NULL) {
    free(job);
    return NULL;
  }
  confined_ref(r);
  job->root = r;
  return job;
}

/* scanDir(root, path, max, order): Promise<{names: Buffer, ends: Uint32Array, links: (number|Buffer)[], stats: Float64Array, truncated}> */
static napi_value scan_dir(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  int64_t max = 0;
  int32_t order = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4 ||
      napi_get_value_int64(env, argv[2], &max) != napi_ok || napi_get_value_int32(env, argv[3], &order) != napi_ok) {
    napi_throw_type_error(env, NULL, "scanDir(root, path, max, order) expected");
    return NULL;
  }
  ScanJob *job = new_scan(env, argv[0], argv[1]);
  if (job == NULL) return NULL;
  job->max = max > 0 ? (size_t)max : 0;
  job->order = order >= 0 && order <= NAMES_ONLY ? order : 0;
  return queue_scan(env, job);
}

/* lstatNames(root, dir, names: Buffer of NUL-terminated names): the same shape as scanDir, one entry per name. */
static napi_value lstat_names(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  bool is_buffer = false;
  void *bytes = NULL;
  size_t len = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 ||
      napi_is_buffer(env, argv[2], &is_buffer) != napi_ok || !is_buffer ||
      napi_get_buffer_info(env, argv[2], &bytes, &len) != napi_ok || len > 64 * 1024 * 1024) {
    napi_throw_type_error(env, NULL, "lstatNames(root, dir, names) expected");
    return NULL;
  }
  ScanJob *job = new_scan(env, argv[0], argv[1]);
  if (job == NULL) return NULL;
  job->given = malloc(len > 0 ? len : 1);
  if (job->given == NULL) {
    free_job(env, job);
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  memcpy(job->given, bytes, len);
  job->given_len = len;
  return queue_scan(env, job);
}

napi_status dirscan_register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"scanDir", NULL, scan_dir, NULL, NULL, NULL, napi_enumerable, NULL},
      {"lstatNames", NULL, lstat_names, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, 2, props);
}
