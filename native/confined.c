/*
 * tsftpd_fs: the confined file-system layer (SECURITY.md lists this file). Every file operation of
 * an FTP session goes through here: account roots, one thread-pool job per operation, the N-API
 * glue. Resolution and identities live in native/resolve.c, directory scans in native/dirscan.c.
 *
 * Guarantees:
 * - Confinement by the kernel, in one step: a path is resolved from the account root's directory
 *   descriptor with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS), so no symlink, `..` or rename
 *   race can reach outside the root (EXDEV). Operations on an entry itself (mkdir, unlink, rmdir,
 *   rename, link, lstat) resolve the parent that way and then act with the *at() call on the final
 *   name, which is never followed. chmod, utime, statfs and access act on a descriptor of the
 *   resolved object (O_PATH), never on a path again.
 * - The account's identity, by the kernel: when the process is root and the account is not, each
 *   operation runs on a thread whose file-system uid, gid and supplementary groups are the
 *   account's (raw setfsuid/setfsgid/setgroups syscalls: Linux keeps credentials per thread, and
 *   glibc's setgroups would change every thread), restored before the thread runs anything else.
 *   Root's capabilities over files (DAC override, FOWNER, FSETID) are dropped with the fsuid.
 * - Bounded input: paths are Buffers of at most 4096 bytes without NUL bytes; names are bytes
 *   (never re-encoded); every N-API status is checked.
 * - Descriptors: a root's descriptor lives until its handle is closed and no job uses it; every
 *   descriptor opened for a caller is either returned or closed.
 */
#define _GNU_SOURCE
#include "confined.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/vfs.h>
#include <unistd.h>

#ifndef RWF_NOWAIT
#define RWF_NOWAIT 0x00000008
#endif

/* Result code beyond errno: not a regular file (downloads). */
#define ERR_NOT_REGULAR 1000

/* ---- roots ---- */

static void destroy_root(Root *r) {
  if (r->fd >= 0) close(r->fd);
  free(r->groups);
  free(r);
}

/* Closes the descriptor of a closed root with no job left; frees it once its handle is gone too. */
static void maybe_release(Root *r) {
  if (r->jobs > 0) return;
  if (r->finalized) {
    destroy_root(r);
    return;
  }
  if (r->closed && r->fd >= 0) {
    close(r->fd);
    r->fd = -1;
  }
}

void confined_ref(Root *r) { r->jobs++; }

void confined_unref(Root *r) {
  r->jobs--;
  maybe_release(r);
}

static void root_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  Root *r = data;
  r->closed = 1;
  r->finalized = 1;
  maybe_release(r);
}

Root *confined_root_arg(napi_env env, napi_value v) {
  napi_valuetype t;
  void *data = NULL;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external || napi_get_value_external(env, v, &data) != napi_ok ||
      data == NULL) {
    napi_throw_type_error(env, NULL, "a root handle is expected");
    return NULL;
  }
  Root *r = data;
  if (r->closed) {
    napi_throw_error(env, "ERR_ROOT_CLOSED", "the root is closed");
    return NULL;
  }
  return r;
}

char *confined_path_arg(napi_env env, napi_value v) {
  bool is_buffer = false;
  void *bytes = NULL;
  size_t len = 0;
  if (napi_is_buffer(env, v, &is_buffer) != napi_ok || !is_buffer ||
      napi_get_buffer_info(env, v, &bytes, &len) != napi_ok || len > PATH_MAX ||
      (len > 0 && memchr(bytes, '\0', len) != NULL)) {
    napi_throw_type_error(env, NULL, "a path Buffer of at most 4096 bytes without NUL is expected");
    return NULL;
  }
  char *s = malloc(len > 0 ? len + 1 : 2);
  if (s == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  if (len == 0) {
    strcpy(s, ".");
  } else {
    memcpy(s, bytes, len);
    s[len] = '\0';
  }
  return s;
}

/* ---- operations: one job type, one thread-pool round trip each ---- */

enum {
  OP_OPEN_ROOT,
  OP_STAT,     /* path, a = follow */
  OP_OPEN,     /* path, a = flags, b = mode, c = follow; O_EXCL creations get exactly `mode` */
  OP_READ,     /* path, a = offset, b = max inline bytes */
  OP_MKDIR,    /* path, a = mode */
  OP_RMDIR,    /* path */
  OP_UNLINK,   /* path */
  OP_RENAME,   /* path -> path2 */
  OP_LINK,     /* path -> path2 (hard link, the source is not followed) */
  OP_CHMOD,    /* path, a = mode (the root itself keeps u+rwx) */
  OP_UTIMES,   /* path, a = seconds, b = nanoseconds (atime = mtime) */
  OP_STATFS,   /* path */
  OP_ACCESS,   /* path, a = R_OK/W_OK/X_OK bits */
  OP_COPY,     /* a = source fd, b = destination fd, c = bytes from offset 0 */
  OP_COUNT
};

#define STAT_FIELDS 8

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  Root *root; /* NULL for OP_OPEN_ROOT and OP_COPY */
  int op;
  char *path;
  char *path2;
  int64_t a, b, c;
  /* results */
  int err;
  int fd;
  int has_stat;
  struct stat st;
  char *link;
  ssize_t link_len;
  char *data;
  size_t data_len;
  double total, avail;
  /* OP_OPEN_ROOT: the new root */
  Root *made;
} Job;

static void fill_stat_link(Job *j, int dirfd, const char *name) {
  if (!S_ISLNK(j->st.st_mode)) return;
  j->link = malloc(PATH_MAX + 1);
  if (j->link == NULL) return;
  j->link_len = readlinkat(dirfd, name, j->link, PATH_MAX);
  if (j->link_len < 0) {
    free(j->link);
    j->link = NULL;
  }
}

/* Reads [offset, end) of a small regular file; 0 when complete (a short or failed read keeps the fd:
 * the caller streams it and sees the error itself). */
static int read_inline(Job *j, int fd) {
  int64_t remaining = (int64_t)j->st.st_size - j->a;
  if (remaining < 0 || remaining > j->b) return -1;
  j->data = malloc(remaining > 0 ? (size_t)remaining : 1);
  if (j->data == NULL) return -1;
  size_t got = 0;
  while ((int64_t)got < remaining) {
    ssize_t n = pread(fd, j->data + got, (size_t)remaining - got, (off_t)j->a + (off_t)got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      free(j->data);
      j->data = NULL;
      return -1;
    }
    got += (size_t)n;
  }
  j->data_len = got;
  return 0;
}

static void op_execute_as(Job *j) {
  const Root *r = j->root;
  const char *name = NULL;
  int fd, pfd, pfd2;
  switch (j->op) {
    case OP_STAT:
      if (j->a) {
        fd = confined_open(r, j->path, O_PATH, 0, 1);
        if (fd < 0) {
          j->err = -fd;
          return;
        }
        j->err = fstat(fd, &j->st) == 0 ? 0 : errno;
        j->has_stat = j->err == 0;
        close(fd);
        return;
      }
      if (strcmp(j->path, ".") == 0) {
        j->err = fstat(r->fd, &j->st) == 0 ? 0 : errno;
        j->has_stat = j->err == 0;
        return;
      }
      pfd = confined_open_parent(r, j->path, &name);
      if (pfd < 0) {
        j->err = -pfd;
        return;
      }
      j->err = fstatat(pfd, name, &j->st, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : errno;
      j->has_stat = j->err == 0;
      if (j->has_stat) fill_stat_link(j, pfd, name);
      close(pfd);
      return;
    case OP_OPEN:
      fd = confined_open(r, j->path, (int)j->a, (mode_t)j->b, (int)j->c);
      if (fd < 0) {
        j->err = -fd;
        return;
      }
      if (fstat(fd, &j->st) != 0) {
        j->err = errno;
        close(fd);
        return;
      }
      /* A file this call created gets exactly the asked mode, whatever the process umask. */
      if ((j->a & O_CREAT) && (j->a & O_EXCL) && (j->st.st_mode & 07777) != (mode_t)j->b) {
        if (fchmod(fd, (mode_t)j->b) == 0) j->st.st_mode = (j->st.st_mode & ~07777) | (mode_t)j->b;
      }
      j->has_stat = 1;
      j->fd = fd;
      return;
    case OP_READ:
      /* O_NONBLOCK: a FIFO or device opens at once (and is refused) instead of holding this thread. */
      fd = confined_open(r, j->path, O_RDONLY | O_NONBLOCK, 0, 1);
      if (fd < 0) {
        j->err = -fd;
        return;
      }
      if (fstat(fd, &j->st) != 0) {
        j->err = errno;
        close(fd);
        return;
      }
      if (!S_ISREG(j->st.st_mode)) {
        j->err = ERR_NOT_REGULAR;
        close(fd);
        return;
      }
      j->has_stat = 1;
      if (read_inline(j, fd) == 0) {
        close(fd);
        return;
      }
      j->fd = fd;
      return;
    case OP_MKDIR:
      pfd = confined_open_parent(r, j->path, &name);
      if (pfd < 0) {
        j->err = -pfd;
        return;
      }
      if (mkdirat(pfd, name, (mode_t)j->a) != 0) {
        j->err = errno;
        close(pfd);
        return;
      }
      /* The asked mode exactly (Pure-FTPd runs with umask 0): through a descriptor of the new
       * directory, so a symlink swapped in meanwhile is never followed. */
      fd = openat(pfd, name, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
      close(pfd);
      if (fd >= 0) {
        if (fstat(fd, &j->st) == 0 && (j->st.st_mode & 07777) != (mode_t)j->a) confined_chmod_fd(fd, (mode_t)j->a);
        close(fd);
      }
      return;
    case OP_RMDIR:
    case OP_UNLINK:
      pfd = confined_open_parent(r, j->path, &name);
      if (pfd < 0) {
        j->err = -pfd;
        return;
      }
      j->err = unlinkat(pfd, name, j->op == OP_RMDIR ? AT_REMOVEDIR : 0) == 0 ? 0 : errno;
      close(pfd);
      return;
    case OP_RENAME:
    case OP_LINK: {
      const char *name2 = NULL;
      pfd = confined_open_parent(r, j->path, &name);
      if (pfd < 0) {
        j->err = -pfd;
        return;
      }
      pfd2 = confined_open_parent(r, j->path2, &name2);
      if (pfd2 < 0) {
        j->err = -pfd2;
        close(pfd);
        return;
      }
      int rc = j->op == OP_RENAME ? renameat(pfd, name, pfd2, name2) : linkat(pfd, name, pfd2, name2, 0);
      j->err = rc == 0 ? 0 : errno;
      close(pfd);
      close(pfd2);
      return;
    }
    case OP_CHMOD:
    case OP_UTIMES:
    case OP_STATFS:
    case OP_ACCESS:
      fd = confined_open(r, j->path, O_PATH, 0, 1);
      if (fd < 0) {
        j->err = -fd;
        return;
      }
      if (j->op == OP_CHMOD) {
        mode_t mode = (mode_t)j->a & 07777;
        /* "chmod 0 /" (upstream §12): the root of the jail always keeps owner rwx. */
        if (fstat(fd, &j->st) == 0 && j->st.st_dev == r->dev && j->st.st_ino == r->ino) mode |= 0700;
        j->err = confined_chmod_fd(fd, mode);
      } else if (j->op == OP_UTIMES) {
        struct timespec times[2];
        times[0].tv_sec = (time_t)j->a;
        times[0].tv_nsec = (long)j->b;
        times[1] = times[0];
        j->err = confined_utimes_fd(fd, times);
      } else if (j->op == OP_STATFS) {
        struct statfs s;
        if (fstatfs(fd, &s) == 0) {
          j->total = (double)s.f_blocks * (double)s.f_bsize;
          j->avail = (double)s.f_bavail * (double)s.f_bsize;
        } else {
          j->err = errno;
        }
      } else {
        j->err = confined_access_fd(r, fd, (int)j->a);
      }
      close(fd);
      return;
    default:
      j->err = EINVAL;
  }
}

static void copy_range(Job *j) {
  int in = (int)j->a, out = (int)j->b;
  off_t from = 0, to = 0;
  int64_t left = j->c;
  while (left > 0) {
    ssize_t n = copy_file_range(in, &from, out, &to, (size_t)(left > (1 << 30) ? (1 << 30) : left), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL)) {
      /* Another file system or no support: plain reads and writes. */
      char buf[65536];
      ssize_t got = pread(in, buf, (size_t)(left < (int64_t)sizeof buf ? left : (int64_t)sizeof buf), from);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        j->err = got < 0 ? errno : EIO;
        return;
      }
      ssize_t put = 0;
      while (put < got) {
        ssize_t w = pwrite(out, buf + put, (size_t)(got - put), to + put);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
          j->err = w < 0 ? errno : EIO;
          return;
        }
        put += w;
      }
      from += got;
      to += got;
      left -= got;
      continue;
    }
    if (n <= 0) {
      j->err = n < 0 ? errno : EIO; /* the source shrank: the copy is incomplete */
      return;
    }
    left -= n;
  }
}

static void open_root(Job *j) {
  Root *r = j->made;
  /* A root given as a descriptor (opened by a process with the rights to reach it) is used as is. */
  if (r->fd < 0) r->fd = open(j->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (r->fd < 0) {
    j->err = errno;
    return;
  }
  struct stat st;
  if (fstat(r->fd, &st) != 0) {
    j->err = errno;
    return;
  }
  if (!S_ISDIR(st.st_mode)) {
    j->err = ENOTDIR;
    return;
  }
  r->dev = st.st_dev;
  r->ino = st.st_ino;
  /* The account must be able to enter its root (as Pure-FTPd's chdir after setuid would). */
  int e = confined_enter(r);
  if (e == 0) {
    e = confined_access_fd(r, r->fd, X_OK);
    confined_leave(r);
  }
  j->err = e;
}

static void op_execute(napi_env env, void *data) {
  (void)env;
  Job *j = data;
  j->fd = -1;
  if (j->op == OP_COPY) {
    copy_range(j);
    return;
  }
  if (j->op == OP_OPEN_ROOT) {
    open_root(j);
    return;
  }
  int e = confined_enter(j->root);
  if (e != 0) {
    j->err = e;
    return;
  }
  op_execute_as(j);
  confined_leave(j->root);
}

static void free_job(napi_env env, Job *j) {
  if (j->work != NULL) napi_delete_async_work(env, j->work);
  if (j->root != NULL) confined_unref(j->root);
  if (j->made != NULL) destroy_root(j->made);
  free(j->path);
  free(j->path2);
  free(j->link);
  free(j->data);
  free(j);
}

/* Sets obj[key] = a double; false when N-API failed. */
static int set_number(napi_env env, napi_value obj, const char *key, double value) {
  napi_value v;
  return napi_create_double(env, value, &v) == napi_ok && napi_set_named_property(env, obj, key, v) == napi_ok;
}

/* Builds the stat array [mode, size, mtimeMs, nlink, uid, gid, ino, dev]. */
static int set_stat(napi_env env, napi_value obj, const struct stat *st) {
  double fields[STAT_FIELDS] = {
      (double)st->st_mode,
      (double)st->st_size,
      (double)st->st_mtim.tv_sec * 1000.0 + (double)(st->st_mtim.tv_nsec / 1000000),
      (double)st->st_nlink,
      (double)st->st_uid,
      (double)st->st_gid,
      (double)st->st_ino,
      (double)st->st_dev,
  };
  void *raw = NULL;
  napi_value ab, arr;
  if (napi_create_arraybuffer(env, sizeof fields, &raw, &ab) != napi_ok) return 0;
  memcpy(raw, fields, sizeof fields);
  return napi_create_typedarray(env, napi_float64_array, STAT_FIELDS, ab, 0, &arr) == napi_ok &&
         napi_set_named_property(env, obj, "st", arr) == napi_ok;
}

static int build_result(napi_env env, Job *j, napi_value *out) {
  napi_value obj, v;
  if (napi_create_object(env, &obj) != napi_ok) return 0;
  if (!set_number(env, obj, "err", j->err)) return 0;
  if (j->op == OP_OPEN_ROOT) {
    if (j->err == 0) {
      if (napi_create_external(env, j->made, root_finalize, NULL, &v) != napi_ok) return 0;
      j->made = NULL; /* owned by the handle now */
      if (napi_set_named_property(env, obj, "root", v) != napi_ok) return 0;
    }
    *out = obj;
    return 1;
  }
  if (j->has_stat && !set_stat(env, obj, &j->st)) return 0;
  if (j->link != NULL) {
    void *copy;
    if (napi_create_buffer_copy(env, (size_t)j->link_len, j->link, &copy, &v) != napi_ok ||
        napi_set_named_property(env, obj, "link", v) != napi_ok)
      return 0;
  }
  if (j->data != NULL) {
    void *copy;
    if (napi_create_buffer_copy(env, j->data_len, j->data, &copy, &v) != napi_ok ||
        napi_set_named_property(env, obj, "data", v) != napi_ok)
      return 0;
  }
  if (j->op == OP_STATFS && j->err == 0 && (!set_number(env, obj, "total", j->total) || !set_number(env, obj, "avail", j->avail)))
    return 0;
  if (j->fd >= 0) {
    if (!set_number(env, obj, "fd", j->fd)) return 0;
  }
  *out = obj;
  return 1;
}

static void op_complete(napi_env env, napi_status status, void *data) {
  Job *j = data;
  napi_value result = NULL, msg, error;
  if (status == napi_ok && build_result(env, j, &result)) {
    j->fd = -1; /* the caller's now */
    napi_resolve_deferred(env, j->deferred, result);
  } else {
    if (j->fd >= 0) close(j->fd);
    if (napi_create_string_utf8(env, "file operation could not complete", NAPI_AUTO_LENGTH, &msg) == napi_ok &&
        napi_create_error(env, NULL, msg, &error) == napi_ok)
      napi_reject_deferred(env, j->deferred, error);
  }
  free_job(env, j);
}

static napi_value queue_job(napi_env env, Job *j) {
  napi_value promise, name;
  if (napi_create_promise(env, &j->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "tsftpd_fs", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, op_execute, op_complete, j, &j->work) != napi_ok ||
      napi_queue_async_work(env, j->work) != napi_ok) {
    /* A created promise is never settled here: the error thrown below is what the caller sees. */
    free_job(env, j);
    napi_throw_error(env, NULL, "could not queue a file operation");
    return NULL;
  }
  return promise;
}

static int get_int64(napi_env env, napi_value v, int64_t *out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number || napi_get_value_int64(env, v, out) != napi_ok) {
    napi_throw_type_error(env, NULL, "a number is expected");
    return 0;
  }
  return 1;
}

/* op(root, kind, path, path2 | null, a, b, c): Promise<{err, st?, link?, data?, fd?, total?, avail?}> */
static napi_value op_call(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 7) {
    napi_throw_type_error(env, NULL, "op(root, kind, path, path2, a, b, c) expected");
    return NULL;
  }
  int64_t kind, a, b, c;
  if (!get_int64(env, argv[1], &kind) || !get_int64(env, argv[4], &a) || !get_int64(env, argv[5], &b) ||
      !get_int64(env, argv[6], &c))
    return NULL;
  if (kind <= OP_OPEN_ROOT || kind >= OP_COUNT) {
    napi_throw_range_error(env, NULL, "unknown operation");
    return NULL;
  }
  Job *j = calloc(1, sizeof(Job));
  if (j == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  j->op = (int)kind;
  j->a = a;
  j->b = b;
  j->c = c;
  j->fd = -1;
  if (kind == OP_COPY) {
    if (a < 0 || b < 0 || a > INT32_MAX || b > INT32_MAX || c < 0) {
      free(j);
      napi_throw_range_error(env, NULL, "invalid descriptors or length");
      return NULL;
    }
    return queue_job(env, j);
  }
  Root *r = confined_root_arg(env, argv[0]);
  if (r == NULL) {
    free(j);
    return NULL;
  }
  j->path = confined_path_arg(env, argv[2]);
  if (j->path == NULL) {
    free(j);
    return NULL;
  }
  if (kind == OP_RENAME || kind == OP_LINK) {
    j->path2 = confined_path_arg(env, argv[3]);
    if (j->path2 == NULL) {
      free(j->path);
      free(j);
      return NULL;
    }
  }
  confined_ref(r);
  j->root = r;
  return queue_job(env, j);
}

/*
 * openRoot(path: Buffer | fd, mode, identity: Int32Array [uid, gid, ...groups] | null): Promise<{err, root?}>
 * A descriptor (a directory, O_PATH is enough) belongs to the addon from the call on, whatever happens.
 */
static napi_value open_root_call(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3) {
    napi_throw_type_error(env, NULL, "openRoot(path, mode, identity) expected");
    return NULL;
  }
  int given = -1;
  napi_valuetype t0;
  if (napi_typeof(env, argv[0], &t0) == napi_ok && t0 == napi_number) {
    int64_t fd;
    if (!get_int64(env, argv[0], &fd)) return NULL;
    if (fd < 0 || fd > INT32_MAX) {
      napi_throw_range_error(env, NULL, "invalid descriptor");
      return NULL;
    }
    given = (int)fd;
  }
  int64_t mode;
  if (!get_int64(env, argv[1], &mode) || mode < ROOT_BENEATH || mode > ROOT_WALK) {
    if (given >= 0) close(given);
    bool pending = false;
    if (napi_is_exception_pending(env, &pending) == napi_ok && !pending)
      napi_throw_range_error(env, NULL, "unknown root mode");
    return NULL;
  }
  char *path = given >= 0 ? strdup("") : confined_path_arg(env, argv[0]);
  if (path == NULL) {
    if (given >= 0) close(given);
    return NULL;
  }
  Root *r = calloc(1, sizeof(Root));
  Job *j = calloc(1, sizeof(Job));
  if (r == NULL || j == NULL) {
    free(r);
    free(j);
    free(path);
    if (given >= 0) close(given);
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  r->fd = given;
  r->mode = (int)mode;
  j->op = OP_OPEN_ROOT;
  j->path = path;
  j->made = r;
  napi_valuetype t;
  if (napi_typeof(env, argv[2], &t) != napi_ok) t = napi_undefined;
  if (t == napi_object) {
    bool is_typed = false;
    napi_typedarray_type type;
    size_t length = 0;
    void *raw = NULL;
    if (napi_is_typedarray(env, argv[2], &is_typed) != napi_ok || !is_typed ||
        napi_get_typedarray_info(env, argv[2], &type, &length, &raw, NULL, NULL) != napi_ok ||
        type != napi_int32_array || length < 2 || length - 2 > IDENTITY_MAX_GROUPS) {
      free_job(env, j);
      napi_throw_type_error(env, NULL, "identity must be an Int32Array [uid, gid, ...groups]");
      return NULL;
    }
    const int32_t *ids = raw;
    for (size_t i = 0; i < length; i++) {
      if (ids[i] < 0) {
        free_job(env, j);
        napi_throw_range_error(env, NULL, "negative id");
        return NULL;
      }
    }
    r->uid = (uid_t)ids[0];
    r->gid = (gid_t)ids[1];
    r->ngroups = (int)(length - 2);
    r->groups = malloc(sizeof(gid_t) * (size_t)(r->ngroups > 0 ? r->ngroups : 1));
    if (r->groups == NULL) {
      free_job(env, j);
      napi_throw_error(env, NULL, "out of memory");
      return NULL;
    }
    for (int i = 0; i < r->ngroups; i++) r->groups[i] = (gid_t)ids[i + 2];
    /* Only root can take another identity; anyone else already acts as itself. */
    r->switch_creds = geteuid() == 0 && (r->uid != 0 || r->gid != 0 || r->ngroups > 0);
  }
  if (r->mode == ROOT_BENEATH && !confined_has_openat2()) {
    free_job(env, j);
    napi_throw_error(env, "ERR_NO_OPENAT2", "openat2 is not available: confined roots need Linux 5.6");
    return NULL;
  }
  return queue_job(env, j);
}

/* closeRoot(root): the handle stops working; the descriptor closes once no job uses it. */
static napi_value close_root_call(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void *data = NULL;
  napi_valuetype t;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_typeof(env, argv[0], &t) != napi_ok || t != napi_external ||
      napi_get_value_external(env, argv[0], &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, NULL, "closeRoot(root) expected");
    return NULL;
  }
  Root *r = data;
  r->closed = 1;
  maybe_release(r);
  return NULL;
}

/*
 * readNow(root, path, offset, maxInline): a download's open on the calling thread when the kernel can
 * do it without waiting (RESOLVE_CACHED resolves from the dentry cache alone, preadv2(RWF_NOWAIT)
 * reads only from the page cache): {err: 0, st, data} or {err: 0, st, fd}; undefined otherwise (any
 * error included), and the caller then queues OP_READ, which has the final word.
 */
static napi_value read_now_call(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], undef, result;
  if (napi_get_undefined(env, &undef) != napi_ok) return NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4) return undef;
  Root *r = confined_root_arg(env, argv[0]);
  if (r == NULL) return NULL;
  int64_t offset, max_inline;
  if (!get_int64(env, argv[2], &offset) || !get_int64(env, argv[3], &max_inline)) return NULL;
  char *path = confined_path_arg(env, argv[1]);
  if (path == NULL) return NULL;
  result = undef;
  Job j;
  memset(&j, 0, sizeof j);
  j.a = offset;
  j.b = max_inline;
  int fd = -1;
  if (offset < 0 || confined_enter(r) != 0) goto done;
  fd = confined_open_cached(r, path, O_RDONLY | O_NONBLOCK);
  int ok = fd >= 0 && fstat(fd, &j.st) == 0 && S_ISREG(j.st.st_mode);
  int64_t remaining = ok ? (int64_t)j.st.st_size - offset : -1;
  if (ok && remaining >= 0 && remaining <= max_inline) {
    j.data = malloc(remaining > 0 ? (size_t)remaining : 1);
    int64_t got = 0;
    while (j.data != NULL && got < remaining) {
      struct iovec iov = {j.data + got, (size_t)(remaining - got)};
      ssize_t n = preadv2(fd, &iov, 1, (off_t)(offset + got), RWF_NOWAIT);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break; /* not cached (EAGAIN), unsupported, or shrank: the pool job decides */
      got += n;
    }
    ok = j.data != NULL && got == remaining;
    j.data_len = (size_t)got;
    if (!ok) {
      free(j.data);
      j.data = NULL;
    }
  }
  confined_leave(r);
  if (!ok) goto done;
  j.has_stat = 1;
  j.op = OP_READ;
  if (j.data != NULL) {
    close(fd);
    fd = -1;
  }
  j.fd = fd;
  napi_value obj;
  if (!build_result(env, &j, &obj)) goto done;
  fd = -1; /* returned */
  result = obj;
done:
  if (fd >= 0) close(fd);
  free(j.data);
  free(path);
  return result;
}

static napi_value has_openat2_call(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value v;
  if (napi_get_boolean(env, confined_has_openat2(), &v) != napi_ok) return NULL;
  return v;
}


static napi_value init(napi_env env, napi_value exports) {
  if (!confined_init()) return NULL;
  napi_value kinds, v;
  napi_property_descriptor props[] = {
      {"openRoot", NULL, open_root_call, NULL, NULL, NULL, napi_enumerable, NULL},
      {"closeRoot", NULL, close_root_call, NULL, NULL, NULL, napi_enumerable, NULL},
      {"op", NULL, op_call, NULL, NULL, NULL, napi_enumerable, NULL},
      {"readNow", NULL, read_now_call, NULL, NULL, NULL, napi_enumerable, NULL},
      {"hasOpenat2", NULL, has_openat2_call, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  if (napi_create_object(env, &kinds) != napi_ok) return NULL;
  static const char *const names[] = {"openRoot", "stat",   "open",  "read",   "mkdir",  "rmdir",  "unlink",
                                      "rename",   "link",   "chmod", "utimes", "statfs", "access", "copy"};
  for (int k = 0; k < OP_COUNT; k++) {
    if (napi_create_int32(env, k, &v) != napi_ok || napi_set_named_property(env, kinds, names[k], v) != napi_ok)
      return NULL;
  }
  if (napi_set_named_property(env, exports, "ops", kinds) != napi_ok) return NULL;
  if (!set_number(env, exports, "ERR_NOT_REGULAR", ERR_NOT_REGULAR) || !set_number(env, exports, "ERR_ESCAPE", CONFINED_ESCAPE))
    return NULL;
  if (dirscan_register(env, exports) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
