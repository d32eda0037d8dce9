/*
 * The confined file-system layer shared by native/confined.c (roots, identities, single-path
 * operations) and native/dirscan.c (directory scans). See confined.c for the guarantees.
 */
#ifndef TSFTPD_CONFINED_H
#define TSFTPD_CONFINED_H

#include <node_api.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

/* How a root resolves paths (set once when the root is opened). */
enum {
  /* openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS): the kernel keeps every lookup below the root. */
  ROOT_BENEATH = 0,
  /* Unconfined (an account without a chroot, or -follow symlinks out of the root): plain lookups
   * from the root descriptor, magic links still refused. */
  ROOT_FREE = 1,
  /* No openat2 (Linux < 5.6), accepted by the operator: a component-by-component walk with
   * O_NOFOLLOW, symlinks expanded here and `..` never above the root. Weaker: a directory moved out
   * of the root while the walk holds it is followed. */
  ROOT_WALK = 2,
};

/** Most supplementary groups an identity carries (Linux allows 65536; accounts have a few). */
#define IDENTITY_MAX_GROUPS 1024

/** One account root: a directory descriptor, a resolution mode and the identity file access uses. */
typedef struct Root {
  int fd;
  int mode;
  /* Set when the process runs as root and the account is someone else: every operation runs on a
   * thread whose file-system credentials are the account's (setfsuid/setfsgid/setgroups per thread). */
  int switch_creds;
  uid_t uid;
  gid_t gid;
  int ngroups;
  gid_t *groups;
  dev_t dev;
  ino_t ino;
  /* Jobs in flight; the descriptor closes when the root is closed and none is left, the memory when
   * the JavaScript handle is also gone (finalized). Main thread only. */
  int jobs;
  int closed;
  int finalized;
} Root;

/** Result code (beyond errno) of a lookup that would leave the root. */
#define CONFINED_ESCAPE 1001

/** Saves the process identity and detects openat2; call once at load. 0 when out of memory. */
int confined_init(void);
/** True when the kernel has openat2 (Linux >= 5.6). */
int confined_has_openat2(void);
/** Opens `path` only if the kernel can resolve it from its caches without waiting (-EAGAIN else). */
int confined_open_cached(const Root *r, const char *path, int flags);
/** Opens the parent of `path` (O_PATH, confined) and points *name at its final component; fd or -errno. */
int confined_open_parent(const Root *r, const char *path, const char **name);
/** chmod of what an O_PATH descriptor refers to; 0 or errno. */
int confined_chmod_fd(int fd, mode_t mode);
/** Sets the times of what a descriptor refers to; 0 or errno. */
int confined_utimes_fd(int fd, const struct timespec times[2]);
/** Permission check of the thread's identity on a descriptor (R_OK/W_OK/X_OK); 0 or errno. */
int confined_access_fd(const Root *r, int fd, int want);
/** Switches this thread's file-system identity to the root's account; 0 or an errno. */
int confined_enter(const Root *r);
/** Restores the process identity on this thread (aborts the process if it cannot: never run on). */
void confined_leave(const Root *r);
/** Opens `path` (relative; "." is the root) confined as the root's mode says; the fd or -errno. */
int confined_open(const Root *r, const char *path, int flags, mode_t mode, int follow_last);
/** A job starts using a root (main thread). */
void confined_ref(Root *r);
/** A job is done with a root; a closed root's descriptor closes with its last job (main thread). */
void confined_unref(Root *r);
/** The Root behind a JavaScript root handle, or NULL (a TypeError is pending) when invalid or closed. */
Root *confined_root_arg(napi_env env, napi_value v);
/**
 * Copies a path argument (a Buffer of at most 4096 bytes, no NUL) into a new C string; an empty
 * Buffer becomes ".". NULL (a TypeError is pending) when invalid.
 */
char *confined_path_arg(napi_env env, napi_value v);
/** Registers the directory-scan functions (dirscan.c) on the module's exports. */
napi_status dirscan_register(napi_env env, napi_value exports);

#endif
