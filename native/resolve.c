/*
 * Path resolution below an account root and per-thread identities (SECURITY.md lists this file),
 * for native/confined.c and native/dirscan.c.
 *
 * Guarantees:
 * - confined_open resolves a path from the root's descriptor in one step: openat2 with
 *   RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS (nothing outside the root is reached: EXDEV, reported as
 *   CONFINED_ESCAPE), or, on kernels without openat2 and only when the operator accepted it, a
 *   component-by-component walk with O_NOFOLLOW that expands symlinks itself and never rises above
 *   the root. confined_open_parent opens the parent of an entry that way and leaves the final name
 *   to an *at() call, which never follows it.
 * - confined_enter/confined_leave switch the calling thread's file-system uid, gid and groups with
 *   raw syscalls (Linux keeps credentials per thread; glibc's setgroups would change every thread)
 *   and restore the process identity afterwards, or abort the process: a thread is never left
 *   running with an account's identity.
 * - The fd helpers act on the object a descriptor refers to, never on a path looked up again.
 */
#define _GNU_SOURCE
#include "confined.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef RESOLVE_CACHED
#define RESOLVE_CACHED 0x20
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_faccessat2
#define SYS_faccessat2 439
#endif
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
#ifndef AT_EACCESS
#define AT_EACCESS 0x200
#endif

/* The process identity, restored on a thread after each operation. */
static uid_t process_fsuid;
static gid_t process_fsgid;
static int process_ngroups;
static gid_t *process_groups;
static int openat2_works = -1;

/* ---- identity ---- */

int confined_enter(const Root *r) {
  if (!r->switch_creds) return 0;
  if (syscall(SYS_setgroups, (size_t)r->ngroups, r->groups) != 0) return errno;
  syscall(SYS_setfsgid, r->gid);
  syscall(SYS_setfsuid, r->uid);
  /* setfsuid/setfsgid report failure only by leaving the value unchanged: read them back. */
  if ((uid_t)syscall(SYS_setfsuid, (uid_t)-1) != r->uid || (gid_t)syscall(SYS_setfsgid, (gid_t)-1) != r->gid) {
    confined_leave(r);
    return EPERM;
  }
  return 0;
}

void confined_leave(const Root *r) {
  if (!r->switch_creds) return;
  syscall(SYS_setfsuid, process_fsuid);
  syscall(SYS_setfsgid, process_fsgid);
  int groups_ok = syscall(SYS_setgroups, (size_t)process_ngroups, process_groups) == 0;
  if (!groups_ok || (uid_t)syscall(SYS_setfsuid, (uid_t)-1) != process_fsuid ||
      (gid_t)syscall(SYS_setfsgid, (gid_t)-1) != process_fsgid) {
    /* A pool thread left with an account's identity would run later jobs with it: stop here. */
    fprintf(stderr, "tsftpd: cannot restore the thread's credentials; aborting\n");
    abort();
  }
}

/* ---- resolution ---- */

static int openat2_call(int dirfd, const char *path, int flags, mode_t mode, uint64_t resolve) {
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = (uint64_t)(unsigned)flags;
  how.mode = (flags & O_CREAT) ? mode : 0;
  how.resolve = resolve;
  long fd;
  /* EAGAIN: a concurrent rename or mount made the kernel unsure the lookup stayed below: retry. */
  for (int tries = 0; tries < 16; tries++) {
    fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    if (fd >= 0 || (errno != EAGAIN && errno != EINTR)) break;
  }
  return fd >= 0 ? (int)fd : -errno;
}

/* Re-opens the directories of `canon` (len bytes, "a/b") from the root without following anything. */
static int walk_reopen(const Root *r, const char *canon, size_t len) {
  int cur = fcntl(r->fd, F_DUPFD_CLOEXEC, 0);
  if (cur < 0) return -errno;
  size_t i = 0;
  while (i < len) {
    size_t j = i;
    while (j < len && canon[j] != '/') j++;
    char name[NAME_MAX + 1];
    memcpy(name, canon + i, j - i);
    name[j - i] = '\0';
    int next = openat(cur, name, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
    int e = errno;
    close(cur);
    if (next < 0) return -e;
    cur = next;
    i = j + 1;
  }
  return cur;
}

/*
 * ROOT_WALK: resolves component by component below the root. Each intermediate component is opened
 * with O_PATH|O_NOFOLLOW; a symlink is read and its text spliced in (absolute targets leave the
 * root: EXDEV, as RESOLVE_BENEATH); `..` pops a component and never rises above the root.
 */
static int walk_open(const Root *r, const char *path, int flags, mode_t mode, int follow_last) {
  static const size_t CAP = 2 * PATH_MAX + 2;
  char *rest = malloc(CAP);
  char *canon = malloc(PATH_MAX + 1);
  if (rest == NULL || canon == NULL) {
    free(rest);
    free(canon);
    return -ENOMEM;
  }
  size_t canon_len = 0;
  int result = -EINVAL;
  int links = 0;
  if (strlen(path) >= CAP) {
    result = -ENAMETOOLONG;
    goto out;
  }
  strcpy(rest, path);
  int cur = fcntl(r->fd, F_DUPFD_CLOEXEC, 0);
  if (cur < 0) {
    result = -errno;
    goto out;
  }
  size_t at = 0;
  for (;;) {
    while (rest[at] == '/') at++;
    if (rest[at] == '\0') {
      /* The path names a directory already open (the root, or after `..`/`.`). */
      int fd = openat(cur, ".", (flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW)) | O_CLOEXEC);
      result = fd >= 0 ? fd : -errno;
      break;
    }
    size_t len = strcspn(rest + at, "/");
    if (len > NAME_MAX) {
      result = -ENAMETOOLONG;
      break;
    }
    char name[NAME_MAX + 1];
    memcpy(name, rest + at, len);
    name[len] = '\0';
    at += len;
    size_t peek = at;
    while (rest[peek] == '/') peek++;
    int last = rest[peek] == '\0';
    if (strcmp(name, ".") == 0) continue;
    if (strcmp(name, "..") == 0) {
      if (canon_len == 0) {
        result = -EXDEV;
        break;
      }
      while (canon_len > 0 && canon[canon_len - 1] != '/') canon_len--;
      if (canon_len > 0) canon_len--;
      close(cur);
      cur = walk_reopen(r, canon, canon_len);
      if (cur < 0) {
        result = cur;
        goto out;
      }
      continue;
    }
    int probe = openat(cur, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (probe < 0 && !(last && errno == ENOENT && (flags & O_CREAT))) {
      result = -errno;
      break;
    }
    struct stat st;
    if (probe >= 0 && fstat(probe, &st) != 0) {
      result = -errno;
      close(probe);
      break;
    }
    if (probe >= 0 && S_ISLNK(st.st_mode) && (!last || follow_last)) {
      char target[PATH_MAX + 1];
      ssize_t n = readlinkat(probe, "", target, PATH_MAX);
      close(probe);
      if (n < 0) {
        result = -errno;
        break;
      }
      target[n] = '\0';
      if (++links > 40) {
        result = -ELOOP;
        break;
      }
      if (target[0] == '/') {
        result = -EXDEV;
        break;
      }
      size_t tail = strlen(rest + at);
      if ((size_t)n + 1 + tail + 1 > CAP) {
        result = -ENAMETOOLONG;
        break;
      }
      memmove(rest + n + 1, rest + at, tail + 1);
      memcpy(rest, target, (size_t)n);
      rest[n] = '/';
      at = 0;
      continue;
    }
    if (last) {
      if (probe >= 0) close(probe);
      int fd = openat(cur, name, flags | O_NOFOLLOW | O_CLOEXEC, mode);
      result = fd >= 0 ? fd : -errno;
      break;
    }
    if (!S_ISDIR(st.st_mode)) {
      close(probe);
      result = -ENOTDIR;
      break;
    }
    if (canon_len + 1 + len > PATH_MAX) {
      close(probe);
      result = -ENAMETOOLONG;
      break;
    }
    if (canon_len > 0) canon[canon_len++] = '/';
    memcpy(canon + canon_len, name, len);
    canon_len += len;
    close(cur);
    cur = probe;
  }
  close(cur);
out:
  free(rest);
  free(canon);
  return result;
}

int confined_open(const Root *r, const char *path, int flags, mode_t mode, int follow_last) {
  if (!follow_last) flags |= O_NOFOLLOW;
  flags |= O_CLOEXEC;
  int fd;
  if (r->mode == ROOT_WALK) {
    fd = walk_open(r, path, flags, mode, follow_last);
  } else if (r->mode == ROOT_FREE && openat2_works == 0) {
    fd = openat(r->fd, path, flags, mode);
    if (fd < 0) fd = -errno;
  } else {
    uint64_t resolve = RESOLVE_NO_MAGICLINKS | (r->mode == ROOT_BENEATH ? RESOLVE_BENEATH : 0);
    fd = openat2_call(r->fd, path, flags, mode, resolve);
  }
  /* Lookups report leaving the root as EXDEV; a rename across file systems keeps its own EXDEV. */
  return fd == -EXDEV ? -CONFINED_ESCAPE : fd;
}

/*
 * Opens the parent directory of `path` (confined, following symlinks) and points *name at the final
 * component. The final component is never "", "." or ".." (EINVAL): callers act on the entry itself.
 */
int confined_open_parent(const Root *r, const char *path, const char **name) {
  const char *slash = strrchr(path, '/');
  const char *last = slash ? slash + 1 : path;
  if (*last == '\0' || strcmp(last, ".") == 0 || strcmp(last, "..") == 0) return -EINVAL;
  *name = last;
  if (slash == NULL) return confined_open(r, ".", O_PATH | O_DIRECTORY, 0, 1);
  size_t n = (size_t)(slash - path);
  char parent[PATH_MAX + 1];
  if (n > PATH_MAX) return -ENAMETOOLONG;
  memcpy(parent, path, n);
  parent[n] = '\0';
  return confined_open(r, n == 0 ? "." : parent, O_PATH | O_DIRECTORY, 0, 1);
}

/* chmod of the object an O_PATH descriptor refers to (no path is looked up again). */
int confined_chmod_fd(int fd, mode_t mode) {
  if (syscall(SYS_fchmodat2, fd, "", mode, AT_EMPTY_PATH) == 0) return 0;
  if (errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP) return errno;
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  return chmod(proc, mode) == 0 ? 0 : errno;
}

int confined_utimes_fd(int fd, const struct timespec times[2]) {
  if (utimensat(fd, "", times, AT_EMPTY_PATH) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return errno;
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  return utimensat(AT_FDCWD, proc, times, 0) == 0 ? 0 : errno;
}

/* Write/search permission of the thread's current (file-system) identity on an O_PATH descriptor. */
int confined_access_fd(const Root *r, int fd, int want) {
  if (syscall(SYS_faccessat2, fd, "", want, AT_EACCESS | AT_EMPTY_PATH) == 0) return 0;
  if (errno != ENOSYS) return errno;
  /* Old kernels: the mode bits, as the kernel would judge them without ACLs. */
  struct stat st;
  if (fstat(fd, &st) != 0) return errno;
  uid_t uid = r->switch_creds ? r->uid : geteuid();
  if (uid == 0) return 0;
  int bits;
  if (st.st_uid == uid) {
    bits = (st.st_mode >> 6) & 7;
  } else {
    int member = st.st_gid == (r->switch_creds ? r->gid : getegid());
    for (int i = 0; !member && r->switch_creds && i < r->ngroups; i++) member = r->groups[i] == st.st_gid;
    bits = member ? (st.st_mode >> 3) & 7 : st.st_mode & 7;
  }
  return (bits & want) == want ? 0 : EACCES;
}


static int detect_openat2(void) {
  const char *forced = getenv("TSFTPD_TEST_NO_OPENAT2");
  if (forced != NULL && strcmp(forced, "1") == 0) return 0;
  int fd = openat2_call(AT_FDCWD, "/", O_PATH | O_DIRECTORY, 0, RESOLVE_NO_MAGICLINKS);
  if (fd >= 0) {
    close(fd);
    return 1;
  }
  return -fd == ENOSYS ? 0 : 1;
}

int confined_init(void) {
  process_fsuid = geteuid();
  process_fsgid = getegid();
  int n = getgroups(0, NULL);
  process_groups = malloc(sizeof(gid_t) * (size_t)(n > 0 ? n : 1));
  process_ngroups = n > 0 && process_groups != NULL ? getgroups(n, process_groups) : 0;
  if (process_ngroups < 0) process_ngroups = 0;
  if (openat2_works < 0) openat2_works = detect_openat2();
  return process_groups != NULL;
}

int confined_has_openat2(void) { return openat2_works == 1; }

int confined_open_cached(const Root *r, const char *path, int flags) {
  if (r->mode == ROOT_WALK || openat2_works != 1) return -EAGAIN;
  uint64_t resolve = RESOLVE_CACHED | RESOLVE_NO_MAGICLINKS | (r->mode == ROOT_BENEATH ? RESOLVE_BENEATH : 0);
  int fd = openat2_call(r->fd, path, flags | O_CLOEXEC, 0, resolve);
  return fd == -EXDEV ? -CONFINED_ESCAPE : fd;
}
