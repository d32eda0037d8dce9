/*
 * tsftpd_fs: one directory scan (readdir + fstatat + readlinkat) on libuv's thread pool.
 *
 * Why: a listing of N entries through fs.promises costs N thread-pool round trips and N promises;
 * Pure-FTPd lists 10,000 entries in ~40 ms with direct lstat calls. Doing the whole scan in one
 * background job gives the same cost without blocking the event loop.
 *
 * Guarantees: the directory is opened with O_DIRECTORY|O_NOFOLLOW (the caller passes a path it
 * has already confined with the jail); entries are stat'ed relative to that descriptor without
 * following symlinks; at most `max` entries are returned (the caller's bound); names are returned
 * as bytes so invalid UTF-8 is never mangled here; a symlink's target is read with readlinkat.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Per entry: mode, size, mtime (ms), nlink, uid, gid, ino, dev. */
#define FIELDS 8
#define LINK_MAX_BYTES 4096

typedef struct {
  char *name;
  double stats[FIELDS];
  char *link; /* symlink target or NULL */
} Entry;

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  char *path;
  size_t max;
  int err;           /* errno of a failure opening the directory */
  int truncated;     /* more entries existed than max */
  Entry *entries;
  size_t count;
  size_t capacity;
} ScanJob;

static void scan_execute(napi_env env, void *data) {
  (void)env;
  ScanJob *job = data;
  int fd = open(job->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    job->err = errno;
    return;
  }
  DIR *dir = fdopendir(fd);
  if (dir == NULL) {
    job->err = errno;
    close(fd);
    return;
  }
  struct dirent *de;
  while ((de = readdir(dir)) != NULL) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    if (job->count >= job->max) {
      job->truncated = 1;
      break;
    }
    struct stat st;
    if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue; /* vanished meanwhile */
    if (job->count == job->capacity) {
      size_t cap = job->capacity == 0 ? 256 : job->capacity * 2;
      Entry *grown = realloc(job->entries, cap * sizeof(Entry));
      if (grown == NULL) {
        job->err = ENOMEM;
        break;
      }
      job->entries = grown;
      job->capacity = cap;
    }
    Entry *e = &job->entries[job->count];
    e->name = strdup(de->d_name);
    if (e->name == NULL) {
      job->err = ENOMEM;
      break;
    }
    e->stats[0] = (double)st.st_mode;
    e->stats[1] = (double)st.st_size;
    e->stats[2] = (double)st.st_mtim.tv_sec * 1000.0 + (double)(st.st_mtim.tv_nsec / 1000000);
    e->stats[3] = (double)st.st_nlink;
    e->stats[4] = (double)st.st_uid;
    e->stats[5] = (double)st.st_gid;
    e->stats[6] = (double)st.st_ino;
    e->stats[7] = (double)st.st_dev;
    e->link = NULL;
    if (S_ISLNK(st.st_mode)) {
      char buf[LINK_MAX_BYTES];
      ssize_t n = readlinkat(fd, de->d_name, buf, sizeof buf - 1);
      if (n >= 0) {
        buf[n] = '\0';
        e->link = strdup(buf);
      }
    }
    job->count++;
  }
  closedir(dir);
}

static void free_job(ScanJob *job) {
  for (size_t i = 0; i < job->count; i++) {
    free(job->entries[i].name);
    free(job->entries[i].link);
  }
  free(job->entries);
  free(job->path);
  free(job);
}

static void scan_complete(napi_env env, napi_status status, void *data) {
  (void)status;
  ScanJob *job = data;
  if (job->err != 0 && job->count == 0) {
    napi_value code, msg, error;
    char text[64];
    snprintf(text, sizeof text, "scan failed: errno %d", job->err);
    napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
    napi_create_int32(env, job->err, &code);
    napi_create_error(env, NULL, msg, &error);
    napi_set_named_property(env, error, "errno", code);
    napi_reject_deferred(env, job->deferred, error);
  } else {
    napi_value result, names, ends, links, stats_buf, stats, truncated;
    napi_create_object(env, &result);
    /* All names in one Buffer plus their end offsets: one allocation instead of one per entry. */
    size_t total = 0;
    for (size_t i = 0; i < job->count; i++) total += strlen(job->entries[i].name);
    void *blob = NULL;
    napi_create_buffer(env, total, &blob, &names);
    void *ends_raw = NULL;
    napi_value ends_buf;
    napi_create_arraybuffer(env, job->count * sizeof(uint32_t), &ends_raw, &ends_buf);
    napi_create_typedarray(env, napi_uint32_array, job->count, ends_buf, 0, &ends);
    napi_create_array(env, &links);
    void *raw = NULL;
    napi_create_arraybuffer(env, job->count * FIELDS * sizeof(double), &raw, &stats_buf);
    double *out = raw;
    uint32_t *end_at = ends_raw;
    size_t at = 0;
    uint32_t nlinks = 0;
    for (size_t i = 0; i < job->count; i++) {
      Entry *e = &job->entries[i];
      size_t n = strlen(e->name);
      memcpy((char *)blob + at, e->name, n);
      at += n;
      end_at[i] = (uint32_t)at;
      memcpy(out + i * FIELDS, e->stats, sizeof e->stats);
      if (e->link != NULL) {
        /* links: flat [index, target, index, target, ...] — symlinks are rare. */
        napi_value index, target;
        napi_create_uint32(env, (uint32_t)i, &index);
        napi_create_string_utf8(env, e->link, NAPI_AUTO_LENGTH, &target);
        napi_set_element(env, links, nlinks++, index);
        napi_set_element(env, links, nlinks++, target);
      }
    }
    napi_create_typedarray(env, napi_float64_array, job->count * FIELDS, stats_buf, 0, &stats);
    napi_get_boolean(env, job->truncated, &truncated);
    napi_set_named_property(env, result, "names", names);
    napi_set_named_property(env, result, "ends", ends);
    napi_set_named_property(env, result, "links", links);
    napi_set_named_property(env, result, "stats", stats);
    napi_set_named_property(env, result, "truncated", truncated);
    napi_resolve_deferred(env, job->deferred, result);
  }
  napi_delete_async_work(env, job->work);
  free_job(job);
}

/* scanDir(path, max): Promise<{names: Buffer, ends: Uint32Array, links: (number|string)[], stats: Float64Array, truncated}> */
static napi_value scan_dir(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2) {
    napi_throw_type_error(env, NULL, "scanDir(path, max) expected");
    return NULL;
  }
  size_t len = 0;
  if (napi_get_value_string_utf8(env, argv[0], NULL, 0, &len) != napi_ok || len == 0 || len > 4096) {
    napi_throw_type_error(env, NULL, "path must be a non-empty string");
    return NULL;
  }
  ScanJob *job = calloc(1, sizeof(ScanJob));
  if (job == NULL) return NULL;
  job->path = malloc(len + 1);
  if (job->path == NULL) {
    free(job);
    return NULL;
  }
  napi_get_value_string_utf8(env, argv[0], job->path, len + 1, &len);
  int64_t max = 0;
  napi_get_value_int64(env, argv[1], &max);
  job->max = max > 0 ? (size_t)max : 0;
  napi_value promise, name;
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_string_utf8(env, "tsftpd_scan", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, scan_execute, scan_complete, job, &job->work);
  napi_queue_async_work(env, job->work);
  return promise;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"scanDir", NULL, scan_dir, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, 1, props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
