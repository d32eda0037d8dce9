/*
 * tsftpd_quota: the tree walk of `tsftpd quotacheck` (upstream §5.1) as ONE libuv thread-pool job, so
 * that counting 200,000 files costs one fstatat() each and no promise, no JavaScript object, no
 * thread-pool round trip per file.
 *
 * openRoot(path): an O_PATH descriptor of the tree's root, opened by the caller (as root, before it
 * switches to the account's ids: the walk then never needs the path's ancestors).
 * walk(rootFd, uid, confined, onProgress?): Promise<{files: bigint, bytes: bigint}>.
 *
 * What is counted is what pure-quotacheck counts (src/tools/quota-walk.ts states the rules):
 * regular files (size summed) and the subdirectories that could be opened, not `.ftpquota` (at
 * any level), no directory twice (dev/inode), hard links once per name, special files never, a
 * symlink as what it points to, the account's own directories given u+rx, and nothing whose
 * path, as pure-quotacheck spells it ("//a/b" chrooted, ".//a/b" otherwise), is PATH_MAX bytes or
 * longer. The caller has switched the process to the account's ids: every permission is the
 * kernel's. Directories are walked depth first in readdir order, as pure-quotacheck does, so the
 * route by which a directory is first reached (and so its path length) is the same.
 *
 * Speed: the job reads one getdents64 batch of a directory at a time; the batch's regular files
 * are stat'ed by the job's thread and up to 3 helper threads it owns for the duration of the walk
 * (one per CPU): a stat costs ~1.3 µs of system time on a VM, which alone is pure-quotacheck's
 * whole run time for 200,000 files. File sizes are summed, so that part is order-free; everything
 * that changes the walk (directories, symlinks) is handled by the job's thread, in order.
 *
 * Guarantees: directories are opened relative to their parent's descriptor with O_NOFOLLOW and
 * entries stat'ed with AT_SYMLINK_NOFOLLOW; no path string ever leads from one directory into
 * another except a symlink's own resolution, which in confined (chroot) mode is the kernel's
 * openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) from the root descriptor: it cannot leave the
 * tree, whatever is renamed meanwhile; otherwise (not run as root) it is an ordinary lookup with
 * the caller's own rights. The walk is iterative with an explicit stack whose depth the
 * path-length rule bounds (at most 2047 levels, one descriptor each, memory in proportion to the
 * entries of one batch per level). Running out of descriptors or memory fails the whole walk
 * (never a silently short count); openat2 missing (Linux < 5.6) fails confined walks with ENOSYS
 * so that the caller can take its own path. Every N-API call's status is checked (a `(void)` cast
 * marks clean-up calls whose failure leaves nothing to do; a promise that cannot be settled at
 * all is a fatal error rather than a CLI waiting forever); the root path is refused if it holds
 * a NUL byte.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <node_api.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* pure-quotacheck builds every path as a string: the kernel refuses PATH_MAX (4096) bytes and more. */
#define VPATH_MAX 4095
#define NAME_BYTES 256
#define DENTS_BUF (32 * 1024)
#define PROGRESS_EVERY 4096
#define PROGRESS_NS 200000000LL
#define EAGAIN_TRIES 4
/* Stat threads: the job's own plus helpers, one per CPU, at most this many in all. */
#define MAX_THREADS 4
/* Smaller batches are stat'ed by the job's thread alone: waking helpers would cost more. */
#define PARALLEL_MIN 64
#define CHUNK 32
#define HELPER_STACK (256 * 1024)

static const char QUOTA_FILE[] = ".ftpquota";

/* The record getdents64 fills (linux_dirent64). */
struct dent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

/* One entry of a batch: its name, its d_type and, for files and unknown types, what fstatat said. */
typedef struct {
  uint32_t name; /* offset in the level's name arena */
  uint16_t nlen;
  unsigned char type;
  unsigned char stated;
  int err; /* errno of the fstatat, 0 when it worked */
  mode_t mode;
  uint64_t size;
} Item;

/* One open directory on the stack, with the batch of its entries being processed. */
typedef struct {
  int fd;
  size_t vlen; /* length of its path as pure-quotacheck spells it */
  Item *items;
  size_t n, next, cap;
  char *names;
  size_t names_cap;
} Level;

/* dev/inode of every directory entered (open addressing, never more than half full). */
typedef struct {
  uint64_t *keys; /* pairs: dev, ino */
  unsigned char *used;
  size_t cap, count;
} Seen;

/* The helper threads and the batch they share (fields under `mu`, except the atomic `next`). */
typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t go, done;
  pthread_t threads[MAX_THREADS - 1];
  int nthreads;
  int quit;
  int busy; /* helpers still on the current batch */
  unsigned long gen;
  int dirfd;
  Item *items;
  const char *names;
  size_t n;
  size_t next; /* next chunk to take (atomic) */
} Pool;

typedef struct {
  double files, bytes;
} ProgressData;

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_threadsafe_function tsfn; /* NULL without a progress callback */
  int rootfd;                    /* our own duplicate, closed by free_job */
  uid_t uid;
  int confined;
  unsigned long long files, bytes;
  int err;             /* errno that ended the walk, 0 when it completed */
  const char *syscall; /* where it happened */
  Level *levels;
  size_t depth, nlevels;
  char vpath[VPATH_MAX + 1 + NAME_BYTES + 1];
  char *dents; /* DENTS_BUF bytes, parsed into a level's batch before anything else reads */
  Seen seen;
  Pool pool;
  int pool_ready;
  unsigned long ticks;
  struct timespec last;
} Job;

/* ---- the walk (thread-pool side: no N-API calls except the thread-safe progress call) ---- */

static uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

static int seen_grow(Seen *s) {
  size_t cap = s->cap == 0 ? 1024 : s->cap * 2;
  uint64_t *keys = malloc(cap * 2 * sizeof *keys);
  unsigned char *used = calloc(cap, 1);
  if (keys == NULL || used == NULL || cap < s->cap) {
    free(keys);
    free(used);
    return -1;
  }
  for (size_t i = 0; i < s->cap; i++) {
    if (!s->used[i]) continue;
    size_t j = mix(s->keys[2 * i] * 31 + s->keys[2 * i + 1]) & (cap - 1);
    while (used[j]) j = (j + 1) & (cap - 1);
    used[j] = 1;
    keys[2 * j] = s->keys[2 * i];
    keys[2 * j + 1] = s->keys[2 * i + 1];
  }
  free(s->keys);
  free(s->used);
  s->keys = keys;
  s->used = used;
  s->cap = cap;
  return 0;
}

/* 1: added, 0: already there, -1: out of memory. */
static int seen_add(Seen *s, uint64_t dev, uint64_t ino) {
  if ((s->count + 1) * 2 > s->cap && seen_grow(s) != 0) return -1;
  size_t j = mix(dev * 31 + ino) & (s->cap - 1);
  while (s->used[j]) {
    if (s->keys[2 * j] == dev && s->keys[2 * j + 1] == ino) return 0;
    j = (j + 1) & (s->cap - 1);
  }
  s->used[j] = 1;
  s->keys[2 * j] = dev;
  s->keys[2 * j + 1] = ino;
  s->count++;
  return 1;
}

/* Errors that end the whole walk: a count missing what could not be opened would be wrong. */
static int is_fatal(int e) {
  return e == EMFILE || e == ENFILE || e == ENOMEM || e == ENOSYS;
}

/* Records a fatal error; returns -1 for the caller to pass up. */
static int fail(Job *job, int e, const char *syscall_name) {
  job->err = e;
  job->syscall = syscall_name;
  return -1;
}

/* 0 when `e` only means "not counted", -1 (recorded) when it ends the walk. */
static int soft(Job *job, int e, const char *syscall_name) {
  return is_fatal(e) ? fail(job, e, syscall_name) : 0;
}

static void progress(Job *job) {
  if (job->tsfn == NULL || ++job->ticks % PROGRESS_EVERY != 0) return;
  struct timespec now;
  if (clock_gettime(CLOCK_MONOTONIC, &now) != 0) return;
  long long ns = (now.tv_sec - job->last.tv_sec) * 1000000000LL + (now.tv_nsec - job->last.tv_nsec);
  if (ns < PROGRESS_NS) return;
  job->last = now;
  ProgressData *data = malloc(sizeof *data);
  if (data == NULL) return;
  data->files = (double)job->files;
  data->bytes = (double)job->bytes;
  /* Non-blocking: when the main thread has not taken the previous report yet, this one is dropped. */
  if (napi_call_threadsafe_function(job->tsfn, data, napi_tsfn_nonblocking) != napi_ok) free(data);
}

/* ---- stat'ing a batch, with the helpers ---- */

static int needs_stat(const Item *it) {
  return it->type == DT_REG || it->type == DT_UNKNOWN;
}

/* Takes chunks of the shared batch until none is left. */
static void stat_chunks(Pool *p, int dirfd, Item *items, const char *names, size_t n) {
  for (;;) {
    size_t from = __atomic_fetch_add(&p->next, CHUNK, __ATOMIC_RELAXED);
    if (from >= n) return;
    size_t to = from + CHUNK < n ? from + CHUNK : n;
    for (size_t i = from; i < to; i++) {
      Item *it = &items[i];
      if (!needs_stat(it)) continue;
      struct stat st;
      it->stated = 1;
      if (fstatat(dirfd, names + it->name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        it->err = errno;
      } else {
        it->err = 0;
        it->mode = st.st_mode;
        it->size = (uint64_t)st.st_size;
      }
    }
  }
}

static void *helper(void *arg) {
  Pool *p = arg;
  unsigned long done_gen = 0;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (!p->quit && p->gen == done_gen) pthread_cond_wait(&p->go, &p->mu);
    if (p->quit) break;
    done_gen = p->gen;
    int dirfd = p->dirfd;
    Item *items = p->items;
    const char *names = p->names;
    size_t n = p->n;
    pthread_mutex_unlock(&p->mu);
    stat_chunks(p, dirfd, items, names, n);
    pthread_mutex_lock(&p->mu);
    if (--p->busy == 0) pthread_cond_signal(&p->done);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

/* Starts one helper per extra CPU (none on one CPU, or when anything fails: the job then stats alone). */
static void pool_start(Job *job) {
  Pool *p = &job->pool;
  cpu_set_t cpus;
  int ncpu = sched_getaffinity(0, sizeof cpus, &cpus) == 0 ? CPU_COUNT(&cpus) : 1;
  int want = (ncpu < MAX_THREADS ? ncpu : MAX_THREADS) - 1;
  if (want <= 0) return;
  if (pthread_mutex_init(&p->mu, NULL) != 0) return;
  if (pthread_cond_init(&p->go, NULL) != 0) {
    pthread_mutex_destroy(&p->mu);
    return;
  }
  if (pthread_cond_init(&p->done, NULL) != 0) {
    pthread_cond_destroy(&p->go);
    pthread_mutex_destroy(&p->mu);
    return;
  }
  job->pool_ready = 1;
  pthread_attr_t attr;
  int have_attr = pthread_attr_init(&attr) == 0;
  if (have_attr) (void)pthread_attr_setstacksize(&attr, HELPER_STACK); /* the default is fine too */
  /* Helpers take no signals: they stay the process's main thread's business. */
  sigset_t all, old;
  sigfillset(&all);
  int masked = pthread_sigmask(SIG_SETMASK, &all, &old) == 0;
  for (int i = 0; i < want; i++) {
    if (pthread_create(&p->threads[p->nthreads], have_attr ? &attr : NULL, helper, p) != 0) break;
    p->nthreads++;
  }
  if (masked) (void)pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (have_attr) (void)pthread_attr_destroy(&attr);
}

static void pool_stop(Job *job) {
  Pool *p = &job->pool;
  if (!job->pool_ready) return;
  pthread_mutex_lock(&p->mu);
  p->quit = 1;
  pthread_cond_broadcast(&p->go);
  pthread_mutex_unlock(&p->mu);
  for (int i = 0; i < p->nthreads; i++) pthread_join(p->threads[i], NULL);
  pthread_cond_destroy(&p->done);
  pthread_cond_destroy(&p->go);
  pthread_mutex_destroy(&p->mu);
  job->pool_ready = 0;
}

/* fstatat for every file (and unknown type) of the level's batch, shared with the helpers. */
static void stat_batch(Job *job, Level *level) {
  Pool *p = &job->pool;
  size_t wanted = 0;
  for (size_t i = 0; i < level->n; i++) wanted += needs_stat(&level->items[i]);
  if (wanted == 0) return;
  if (p->nthreads == 0 || wanted < PARALLEL_MIN) {
    p->next = 0;
    stat_chunks(p, level->fd, level->items, level->names, level->n);
    return;
  }
  pthread_mutex_lock(&p->mu);
  p->dirfd = level->fd;
  p->items = level->items;
  p->names = level->names;
  p->n = level->n;
  __atomic_store_n(&p->next, 0, __ATOMIC_RELAXED);
  p->busy = p->nthreads;
  p->gen++;
  pthread_cond_broadcast(&p->go);
  pthread_mutex_unlock(&p->mu);
  stat_chunks(p, level->fd, level->items, level->names, level->n);
  pthread_mutex_lock(&p->mu);
  while (p->busy > 0) pthread_cond_wait(&p->done, &p->mu);
  pthread_mutex_unlock(&p->mu);
}

/* ---- the depth-first walk (the job's thread only) ---- */

/*
 * Takes `fd` (a directory opened for reading) as the next level when it may be listed: a
 * directory, given u+rx when the account owns it without them (as pure-quotacheck does), not
 * entered before. 1: pushed, 0: not counted (fd closed), -1: fatal.
 */
static int enter(Job *job, int fd, size_t vlen) {
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode)) {
    close(fd);
    return 0;
  }
  if ((st.st_mode & 0500) != 0500 && st.st_uid == job->uid) {
    (void)fchmod(fd, (st.st_mode & 07777) | 0500); /* if it fails, the listing says what is readable */
  }
  int added = seen_add(&job->seen, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
  if (added <= 0) {
    close(fd);
    return added < 0 ? fail(job, ENOMEM, "malloc") : 0;
  }
  if (job->depth == job->nlevels) {
    size_t n = job->nlevels == 0 ? 64 : job->nlevels * 2;
    Level *levels = realloc(job->levels, n * sizeof *levels);
    if (levels == NULL) {
      close(fd);
      return fail(job, ENOMEM, "malloc");
    }
    memset(levels + job->nlevels, 0, (n - job->nlevels) * sizeof *levels);
    job->levels = levels;
    job->nlevels = n;
  }
  Level *level = &job->levels[job->depth];
  level->fd = fd;
  level->vlen = vlen;
  level->n = level->next = 0;
  job->depth++;
  return 1;
}

/*
 * Reads the next getdents64 batch of a level into its items (names copied, `.`, `..`,
 * `.ftpquota`, special files and too long paths left out) and stats its files.
 * 1: a batch (possibly empty), 0: the end of the listing, -1: fatal.
 */
static int read_batch(Job *job, Level *level) {
  long got = syscall(SYS_getdents64, level->fd, job->dents, DENTS_BUF);
  /* An error ends this listing, as readdir() returning NULL ends pure-quotacheck's. */
  if (got <= 0) return 0;
  size_t n = 0, used = 0;
  for (long pos = 0; pos < got;) {
    struct dent64 *d = (struct dent64 *)(void *)(job->dents + pos);
    pos += d->d_reclen;
    const char *name = d->d_name;
    if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) continue;
    if (strcmp(name, QUOTA_FILE) == 0) continue;
    if (d->d_type != DT_REG && d->d_type != DT_DIR && d->d_type != DT_LNK && d->d_type != DT_UNKNOWN) continue;
    size_t nlen = strnlen(name, NAME_BYTES);
    if (nlen >= NAME_BYTES || level->vlen + 1 + nlen > VPATH_MAX) continue; /* ENAMETOOLONG for it */
    if (n == level->cap) {
      size_t cap = level->cap == 0 ? 64 : level->cap * 2;
      Item *items = realloc(level->items, cap * sizeof *items);
      if (items == NULL) return fail(job, ENOMEM, "malloc");
      level->items = items;
      level->cap = cap;
    }
    if (used + nlen + 1 > level->names_cap) {
      size_t cap = level->names_cap == 0 ? 1024 : level->names_cap;
      while (cap < used + nlen + 1) cap *= 2;
      char *names = realloc(level->names, cap);
      if (names == NULL) return fail(job, ENOMEM, "malloc");
      level->names = names;
      level->names_cap = cap;
    }
    memcpy(level->names + used, name, nlen + 1);
    Item *it = &level->items[n++];
    it->name = (uint32_t)used;
    it->nlen = (uint16_t)nlen;
    it->type = d->d_type;
    it->stated = 0;
    it->err = 0;
    used += nlen + 1;
  }
  level->n = n;
  level->next = 0;
  stat_batch(job, level);
  return 1;
}

/* Writes "/name" after the path of level `li`: the entry's path, NUL-terminated in job->vpath. */
static void entry_path(Job *job, size_t li, const char *name, size_t nlen) {
  size_t vlen = job->levels[li].vlen;
  job->vpath[vlen] = '/';
  memcpy(job->vpath + vlen + 1, name, nlen + 1);
}

/* A subdirectory opened as `fd`: counted (one file) when it could be entered. */
static int descend(Job *job, int fd, size_t li, const char *name, size_t nlen) {
  entry_path(job, li, name, nlen);
  int r = enter(job, fd, job->levels[li].vlen + 1 + nlen);
  if (r == 1) job->files++;
  return r < 0 ? -1 : 0;
}

/* openat2 from the root, resolved as inside a chroot there; EAGAIN (a rename race) is retried. */
static int open_in_root(Job *job, int flags) {
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = (uint64_t)(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  for (int i = 0;; i++) {
    long fd = syscall(SYS_openat2, job->rootfd, job->vpath, &how, sizeof how);
    if (fd >= 0 || errno != EAGAIN || i + 1 >= EAGAIN_TRIES) return (int)fd;
  }
}

static void count_file(Job *job, uint64_t size) {
  job->files++;
  job->bytes += size;
}

/* A symlink: counted as what stat() through it finds, as pure-quotacheck (chrooted or not) does. */
static int follow(Job *job, size_t li, const char *name, size_t nlen) {
  struct stat st;
  int dirfd = job->levels[li].fd;
  if (job->confined) {
    entry_path(job, li, name, nlen);
    int pfd = open_in_root(job, O_PATH);
    if (pfd < 0) return soft(job, errno, "openat2");
    int ok = fstat(pfd, &st) == 0;
    close(pfd);
    if (!ok) return 0;
  } else if (fstatat(dirfd, name, &st, 0) != 0) {
    return soft(job, errno, "stat");
  }
  if (S_ISREG(st.st_mode)) {
    count_file(job, (uint64_t)st.st_size);
    return 0;
  }
  if (!S_ISDIR(st.st_mode)) return 0;
  int fd = job->confined ? open_in_root(job, O_RDONLY | O_DIRECTORY | O_NONBLOCK)
                         : openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return soft(job, errno, "open");
  return descend(job, fd, li, name, nlen);
}

/* One entry of level `li`, in readdir order. 0 or -1 (fatal). */
static int visit(Job *job, size_t li, const Item *it) {
  const char *name = job->levels[li].names + it->name;
  int dirfd = job->levels[li].fd;
  unsigned char type = it->type;
  if (it->stated) {
    if (it->err != 0) return soft(job, it->err, "stat");
    if (S_ISREG(it->mode)) {
      count_file(job, it->size);
      return 0;
    }
    type = S_ISDIR(it->mode) ? DT_DIR : S_ISLNK(it->mode) ? DT_LNK : DT_UNKNOWN;
  }
  if (type == DT_DIR) {
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) return descend(job, fd, li, name, it->nlen);
    if (errno != ELOOP && errno != ENOTDIR) return soft(job, errno, "open");
    /* Replaced since it was listed: a symlink now, or a file. */
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return soft(job, errno, "stat");
    if (S_ISREG(st.st_mode)) count_file(job, (uint64_t)st.st_size);
    return S_ISLNK(st.st_mode) ? follow(job, li, name, it->nlen) : 0;
  }
  if (type == DT_LNK) return follow(job, li, name, it->nlen);
  return 0; /* fifos, sockets, devices: never counted */
}

static void walk(Job *job) {
  size_t rootlen = job->confined ? 1 : 2;
  memcpy(job->vpath, job->confined ? "/" : "./", rootlen + 1);
  if (clock_gettime(CLOCK_MONOTONIC, &job->last) != 0) memset(&job->last, 0, sizeof job->last);
  if ((job->dents = malloc(DENTS_BUF)) == NULL) {
    fail(job, ENOMEM, "malloc");
    return;
  }
  int fd = openat(job->rootfd, ".", O_RDONLY | O_DIRECTORY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    fail(job, errno, "open");
    return;
  }
  int r = enter(job, fd, rootlen);
  if (r == 0) fail(job, ENOTDIR, "open");
  if (r != 1) return;
  pool_start(job);
  while (job->depth > 0) {
    size_t li = job->depth - 1;
    Level *level = &job->levels[li];
    if (level->next >= level->n) {
      r = read_batch(job, level);
      if (r < 0) break;
      if (r == 0) {
        close(level->fd);
        level->fd = -1;
        job->depth--;
      }
      continue;
    }
    const Item *it = &level->items[level->next++];
    progress(job);
    if (visit(job, li, it) < 0) break;
  }
  pool_stop(job);
}

static void walk_execute(napi_env env, void *data) {
  (void)env;
  walk((Job *)data);
}

static void free_job(Job *job) {
  for (size_t i = 0; i < job->nlevels; i++) {
    if (i < job->depth && job->levels[i].fd >= 0) close(job->levels[i].fd);
    free(job->levels[i].items);
    free(job->levels[i].names);
  }
  free(job->levels);
  free(job->seen.keys);
  free(job->seen.used);
  free(job->dents);
  if (job->rootfd >= 0) close(job->rootfd);
  free(job);
}

/* ---- JavaScript side ---- */

static const char *errno_code(int e) {
  switch (e) {
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case ENOTDIR: return "ENOTDIR";
    case ELOOP: return "ELOOP";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case ENOMEM: return "ENOMEM";
    case ENOSYS: return "ENOSYS";
    case EIO: return "EIO";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case EINVAL: return "EINVAL";
    case EBADF: return "EBADF";
    default: return "EUNKNOWN";
  }
}

/* An Error like Node's own: message strerror(e), code, errno (negative, as libuv's), syscall. */
static napi_status errno_error(napi_env env, int e, const char *syscall_name, napi_value *out) {
  napi_value code, msg, num, sys;
  napi_status s;
  if ((s = napi_create_string_utf8(env, errno_code(e), NAPI_AUTO_LENGTH, &code)) != napi_ok) return s;
  if ((s = napi_create_string_utf8(env, strerror(e), NAPI_AUTO_LENGTH, &msg)) != napi_ok) return s;
  if ((s = napi_create_error(env, code, msg, out)) != napi_ok) return s;
  if ((s = napi_create_int32(env, -e, &num)) != napi_ok) return s;
  if ((s = napi_set_named_property(env, *out, "errno", num)) != napi_ok) return s;
  if ((s = napi_create_string_utf8(env, syscall_name, NAPI_AUTO_LENGTH, &sys)) != napi_ok) return s;
  return napi_set_named_property(env, *out, "syscall", sys);
}

static void throw_errno(napi_env env, int e, const char *syscall_name) {
  napi_value error;
  if (errno_error(env, e, syscall_name, &error) == napi_ok) {
    napi_throw(env, error);
  } else {
    napi_throw_error(env, errno_code(e), strerror(e));
  }
}

/* Settles the promise; when even building the value fails, rejects with a plain Error. */
static void walk_complete(napi_env env, napi_status status, void *data) {
  Job *job = data;
  napi_value value = NULL;
  int ok = 0;
  if (status != napi_ok) {
    job->err = job->err != 0 ? job->err : EINVAL;
    job->syscall = "napi_async_work";
  }
  if (job->err == 0 && status == napi_ok) {
    napi_value files, bytes;
    ok = napi_create_object(env, &value) == napi_ok &&
         napi_create_bigint_uint64(env, (uint64_t)job->files, &files) == napi_ok &&
         napi_create_bigint_uint64(env, (uint64_t)job->bytes, &bytes) == napi_ok &&
         napi_set_named_property(env, value, "files", files) == napi_ok &&
         napi_set_named_property(env, value, "bytes", bytes) == napi_ok;
    if (ok && napi_resolve_deferred(env, job->deferred, value) != napi_ok) ok = 0;
  }
  if (!ok) {
    napi_value error = NULL;
    if (job->err == 0 || errno_error(env, job->err, job->syscall, &error) != napi_ok) {
      napi_value msg;
      if (napi_create_string_utf8(env, "quota walk failed", NAPI_AUTO_LENGTH, &msg) != napi_ok ||
          napi_create_error(env, NULL, msg, &error) != napi_ok) {
        error = NULL;
      }
    }
    if (error == NULL || napi_reject_deferred(env, job->deferred, error) != napi_ok) {
      napi_fatal_error("tsftpd_quota", NAPI_AUTO_LENGTH, "cannot settle the walk's promise", NAPI_AUTO_LENGTH);
    }
  }
  if (job->tsfn != NULL) (void)napi_release_threadsafe_function(job->tsfn, napi_tsfn_release);
  (void)napi_delete_async_work(env, job->work); /* nothing more to do should it fail */
  free_job(job);
}

/* Calls onProgress(files, bytes) on the main thread; reports after the end are the caller's to ignore. */
static void call_progress(napi_env env, napi_value cb, void *context, void *data) {
  (void)context;
  ProgressData *p = data;
  if (env != NULL && cb != NULL) {
    napi_value undefined, argv[2], result;
    if (napi_get_undefined(env, &undefined) == napi_ok && napi_create_double(env, p->files, &argv[0]) == napi_ok &&
        napi_create_double(env, p->bytes, &argv[1]) == napi_ok &&
        napi_call_function(env, undefined, cb, 2, argv, &result) == napi_pending_exception) {
      /* A progress display failing must not end the count: its exception is dropped. */
      napi_value ignored;
      (void)napi_get_and_clear_last_exception(env, &ignored);
    }
  }
  free(p);
}

/* openRoot(path: string): number — O_PATH | O_DIRECTORY descriptor of the tree's root. */
static napi_value open_root(napi_env env, napi_callback_info info) {
  size_t argc = 1, len = 0;
  napi_value argv[1], result;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_string_utf8(env, argv[0], NULL, 0, &len) != napi_ok || len == 0 || len > 65536) {
    napi_throw_type_error(env, NULL, "openRoot(path: non-empty string) expected");
    return NULL;
  }
  char *path = malloc(len + 1);
  if (path == NULL) {
    throw_errno(env, ENOMEM, "malloc");
    return NULL;
  }
  size_t copied = 0;
  if (napi_get_value_string_utf8(env, argv[0], path, len + 1, &copied) != napi_ok || strlen(path) != copied) {
    free(path);
    napi_throw_type_error(env, NULL, "openRoot: the path holds a NUL byte");
    return NULL;
  }
  int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  int e = errno;
  free(path);
  if (fd < 0) {
    throw_errno(env, e, "open");
    return NULL;
  }
  if (napi_create_int32(env, fd, &result) != napi_ok) {
    close(fd);
    napi_throw_error(env, NULL, "openRoot: cannot return the descriptor");
    return NULL;
  }
  return result;
}

/* walk(rootFd, uid, confined, onProgress?): Promise<{files: bigint, bytes: bigint}>. */
static napi_value walk_start(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], promise, name;
  napi_valuetype types[4] = {napi_undefined, napi_undefined, napi_undefined, napi_undefined};
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3) {
    napi_throw_type_error(env, NULL, "walk(rootFd, uid, confined[, onProgress]) expected");
    return NULL;
  }
  for (size_t i = 0; i < argc && i < 4; i++) {
    if (napi_typeof(env, argv[i], &types[i]) != napi_ok) {
      napi_throw_error(env, NULL, "walk: cannot read the arguments");
      return NULL;
    }
  }
  int32_t fd = -1;
  uint32_t uid = 0;
  bool confined = false;
  if (types[0] != napi_number || types[1] != napi_number || types[2] != napi_boolean ||
      (argc > 3 && types[3] != napi_function && types[3] != napi_undefined) ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0 ||
      napi_get_value_uint32(env, argv[1], &uid) != napi_ok || napi_get_value_bool(env, argv[2], &confined) != napi_ok) {
    napi_throw_type_error(env, NULL, "walk(rootFd: fd, uid: number, confined: boolean[, onProgress]) expected");
    return NULL;
  }
  Job *job = calloc(1, sizeof *job);
  if (job == NULL) {
    throw_errno(env, ENOMEM, "malloc");
    return NULL;
  }
  job->uid = (uid_t)uid;
  job->confined = confined;
  /* Our own descriptor: the caller may close its copy whenever it likes. */
  job->rootfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (job->rootfd < 0) {
    int e = errno;
    free(job);
    throw_errno(env, e, "dup");
    return NULL;
  }
  if (napi_create_string_utf8(env, "tsftpd_quotawalk", NAPI_AUTO_LENGTH, &name) != napi_ok) goto napi_failed;
  if (argc > 3 && types[3] == napi_function &&
      napi_create_threadsafe_function(env, argv[3], NULL, name, 1, 1, NULL, NULL, NULL, call_progress, &job->tsfn) !=
          napi_ok) {
    job->tsfn = NULL;
    goto napi_failed;
  }
  if (napi_create_async_work(env, NULL, name, walk_execute, walk_complete, job, &job->work) != napi_ok) goto napi_failed;
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok) {
    (void)napi_delete_async_work(env, job->work);
    goto napi_failed;
  }
  if (napi_queue_async_work(env, job->work) != napi_ok) {
    /* The promise is abandoned unsettled: reject it so that no caller waits forever. */
    napi_value error;
    if (errno_error(env, EINVAL, "napi_queue_async_work", &error) == napi_ok) {
      (void)napi_reject_deferred(env, job->deferred, error);
    }
    (void)napi_delete_async_work(env, job->work);
    if (job->tsfn != NULL) (void)napi_release_threadsafe_function(job->tsfn, napi_tsfn_release);
    free_job(job);
    return promise;
  }
  return promise;
napi_failed:
  if (job->tsfn != NULL) (void)napi_release_threadsafe_function(job->tsfn, napi_tsfn_release);
  free_job(job);
  napi_throw_error(env, NULL, "walk: N-API call failed");
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"openRoot", NULL, open_root, NULL, NULL, NULL, napi_enumerable, NULL},
      {"walk", NULL, walk_start, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, 2, props) != napi_ok) {
    napi_throw_error(env, NULL, "tsftpd_quota: cannot define its exports");
    return NULL;
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
