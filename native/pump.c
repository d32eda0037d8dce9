/*
 * tsftpd_pump: moves plain transfers on a thread of libuv's pool. sendFromFile: a download, file to
 * socket with sendfile(2). receiveToFile: an upload, socket to file, with large
 * recv()/pwrite() calls, the way Pure-FTPd's own loop does. Node.js reads sockets 64 KiB per
 * JavaScript callback, which caps a plain upload far below the disk and loopback speeds
 * (docs/performance.md); the server uses the pump only for plain binary transfers with no
 * throttling, TLS or ASCII conversion.
 *
 * Guarantees: the socket is only read here while JavaScript has stopped reading it; the pump never
 * writes more than `limit` bytes (the quota budget) and reports when the client sent more; it stops
 * within POLL_MS of cancel() (ABOR, QUIT, a lost control connection) and after `idleMs` without data;
 * every byte it acknowledged is on disk (pwrite loop) before it reports success.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <node_api.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* 1 MiB per recv: 64 KiB cost 2.7x the CPU per GiB (one poll wake-up per chunk); 4 MiB writes made
 * the kernel's page-cache writes stall now and then (0.3 to 2.6 s per GiB, measured with a plain C
 * receiver too), 512 KiB and 1 MiB were steady.
 * At most a few pumps run at once (src/data/pump.ts). */
#define CHUNK (1024 * 1024)
#define POLL_MS 100

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  int sock;
  int file;
  int64_t offset;   /* -1: O_APPEND file, write() instead of pwrite() */
  int64_t limit;    /* most bytes accepted; -1 = none */
  int64_t idle_ms;
  atomic_int cancelled;
  _Atomic int64_t bytes; /* read by progress() while the pump runs */
  int eof;
  int err;
  int over_limit;
  int timed_out;
  int refs; /* the async work and the JS cancel function; freed at 0 (both on the JS thread) */
  int sending; /* 1: file -> socket (sendFromFile), 0: socket -> file (receiveToFile) */
} PumpJob;

static void unref_job(PumpJob *job) {
  if (--job->refs == 0) free(job);
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int write_all(PumpJob *job, const char *buf, size_t len) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = job->offset < 0 ? write(job->file, buf + done, len - done)
                                : pwrite(job->file, buf + done, len - done, job->offset + job->bytes + (int64_t)done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? errno : EIO;
    done += (size_t)n;
  }
  return 0;
}

static void pump_execute(napi_env env, void *data) {
  (void)env;
  PumpJob *job = data;
  char *buf = malloc(CHUNK);
  if (buf == NULL) {
    job->err = ENOMEM;
    return;
  }
  int64_t last = now_ms();
  for (;;) {
    if (atomic_load(&job->cancelled)) break;
    struct pollfd p = {job->sock, POLLIN, 0};
    int r = poll(&p, 1, POLL_MS);
    if (r < 0) {
      if (errno == EINTR) continue;
      job->err = errno;
      break;
    }
    if (r == 0) {
      if (job->idle_ms > 0 && now_ms() - last >= job->idle_ms) {
        job->timed_out = 1;
        break;
      }
      continue;
    }
    ssize_t n = recv(job->sock, buf, CHUNK, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
      job->err = errno;
      break;
    }
    if (n == 0) {
      job->eof = 1;
      break;
    }
    last = now_ms();
    size_t keep = (size_t)n;
    if (job->limit >= 0 && job->bytes + n > job->limit) {
      keep = (size_t)(job->limit - job->bytes);
      job->over_limit = 1;
    }
    int e = keep > 0 ? write_all(job, buf, keep) : 0;
    if (e != 0) {
      job->err = e;
      break;
    }
    job->bytes += (int64_t)keep;
    if (job->over_limit) break;
  }
  free(buf);
}

/*
 * Download direction: sendfile(2) from the file to the (non-blocking) socket, from `offset` for
 * `limit` bytes, waiting for POLLOUT when the socket buffer is full. The kernel copies page-cache
 * pages straight into the socket: no read into user memory, no JavaScript per chunk. A file that
 * shrinks meanwhile ends the transfer early (eof); the caller reports what was sent.
 */
static void send_execute(napi_env env, void *data) {
  (void)env;
  PumpJob *job = data;
  int64_t last = now_ms();
  off_t off = (off_t)job->offset;
  while (job->bytes < job->limit) {
    if (atomic_load(&job->cancelled)) break;
    int64_t want = job->limit - job->bytes;
    ssize_t n = sendfile(job->sock, job->file, &off, (size_t)(want < CHUNK ? want : CHUNK));
    if (n > 0) {
      atomic_fetch_add(&job->bytes, (int64_t)n);
      last = now_ms();
      continue;
    }
    if (n == 0) {
      job->eof = 1; /* the file is shorter than announced */
      break;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      job->err = errno;
      break;
    }
    struct pollfd p = {job->sock, POLLOUT, 0};
    int r = poll(&p, 1, POLL_MS);
    if (r < 0 && errno != EINTR) {
      job->err = errno;
      break;
    }
    if (r == 0 && job->idle_ms > 0 && now_ms() - last >= job->idle_ms) {
      job->timed_out = 1;
      break;
    }
    if (r > 0 && (p.revents & (POLLERR | POLLHUP)) && !(p.revents & POLLOUT)) {
      job->err = EPIPE;
      break;
    }
  }
}

static void pump_complete(napi_env env, napi_status status, void *data) {
  (void)status;
  PumpJob *job = data;
  napi_value result, v;
  napi_create_object(env, &result);
  napi_create_double(env, (double)job->bytes, &v);
  napi_set_named_property(env, result, "bytes", v);
  napi_get_boolean(env, job->eof, &v);
  napi_set_named_property(env, result, "eof", v);
  napi_create_int32(env, job->err, &v);
  napi_set_named_property(env, result, "err", v);
  napi_get_boolean(env, job->over_limit, &v);
  napi_set_named_property(env, result, "overLimit", v);
  napi_get_boolean(env, job->timed_out, &v);
  napi_set_named_property(env, result, "timedOut", v);
  napi_get_boolean(env, atomic_load(&job->cancelled), &v);
  napi_set_named_property(env, result, "cancelled", v);
  napi_resolve_deferred(env, job->deferred, result);
  napi_delete_async_work(env, job->work);
  unref_job(job);
}

static void finalize_job(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  unref_job(data);
}

static napi_value progress_fn(napi_env env, napi_callback_info info) {
  void *data = NULL;
  napi_get_cb_info(env, info, NULL, NULL, NULL, &data);
  PumpJob *job = data;
  napi_value v;
  napi_create_double(env, (double)atomic_load(&job->bytes), &v);
  return v;
}

static napi_value cancel_fn(napi_env env, napi_callback_info info) {
  void *data = NULL;
  napi_get_cb_info(env, info, NULL, NULL, NULL, &data);
  PumpJob *job = data;
  atomic_store(&job->cancelled, 1);
  return NULL;
}

/* Builds the job, its promise and its cancel/progress functions, and queues it on the pool. */
static napi_value start_job(napi_env env, PumpJob *job) {
  napi_value result, promise, cancel, progress, name, holder;
  napi_create_object(env, &result);
  napi_create_promise(env, &job->deferred, &promise);
  /* The job is freed when both the work has completed and the cancel function was collected. */
  napi_create_external(env, job, finalize_job, NULL, &holder);
  napi_create_function(env, "cancel", NAPI_AUTO_LENGTH, cancel_fn, job, &cancel);
  napi_set_named_property(env, cancel, "job", holder);
  napi_create_function(env, "progress", NAPI_AUTO_LENGTH, progress_fn, job, &progress);
  /* progress() reaches the job only while cancel (which holds it) is alive: keep it there. */
  napi_set_named_property(env, progress, "cancel", cancel);
  napi_set_named_property(env, result, "progress", progress);
  napi_set_named_property(env, result, "promise", promise);
  napi_set_named_property(env, result, "cancel", cancel);
  napi_create_string_utf8(env, "tsftpd_pump", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, job->sending ? send_execute : pump_execute, pump_complete, job,
                         &job->work);
  napi_queue_async_work(env, job->work);
  return result;
}

/* Reads the five numeric arguments shared by both directions into a new job (NULL: thrown). */
static PumpJob *new_job(napi_env env, napi_callback_info info, const char *usage) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 5) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  PumpJob *job = calloc(1, sizeof(PumpJob));
  if (job == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  napi_get_value_int32(env, argv[0], &job->sock);
  napi_get_value_int32(env, argv[1], &job->file);
  napi_get_value_int64(env, argv[2], &job->offset);
  napi_get_value_int64(env, argv[3], &job->limit);
  napi_get_value_int64(env, argv[4], &job->idle_ms);
  atomic_init(&job->cancelled, 0);
  job->refs = 2;
  if (job->sock < 0 || job->file < 0) {
    free(job);
    napi_throw_type_error(env, NULL, "invalid descriptors");
    return NULL;
  }
  return job;
}

/* receiveToFile(sockFd, fileFd, offset (-1 = append), limit (-1 = none), idleMs): { promise, cancel, progress } */
static napi_value receive_to_file(napi_env env, napi_callback_info info) {
  PumpJob *job = new_job(env, info, "receiveToFile(sock, file, offset, limit, idleMs) expected");
  return job == NULL ? NULL : start_job(env, job);
}

/* sendFromFile(sockFd, fileFd, offset, length, idleMs): { promise, cancel, progress } */
static napi_value send_from_file(napi_env env, napi_callback_info info) {
  PumpJob *job = new_job(env, info, "sendFromFile(sock, file, offset, length, idleMs) expected");
  if (job == NULL) return NULL;
  if (job->offset < 0 || job->limit < 0) {
    free(job);
    napi_throw_range_error(env, NULL, "offset and length must not be negative");
    return NULL;
  }
  job->sending = 1;
  return start_job(env, job);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"receiveToFile", NULL, receive_to_file, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sendFromFile", NULL, send_from_file, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, 2, props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
