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
 *
 * Descriptors: a job works on its own duplicates of the socket and file descriptors (made on the
 * JavaScript thread when the job starts, closed when it completes). Whatever JavaScript does with
 * its own descriptors meanwhile — Node closing the socket on a FIN it read, a destroy() — the job
 * never reads or writes a closed descriptor, nor one whose number was reused by another connection.
 * Arguments are checked (napi-check.h): descriptors are non-negative integers, the socket one must
 * be a socket, and a number that is not an integer in range throws instead of becoming garbage.
 *
 * Errors: `err` is the errno of the failing call and `fileErr` says which side failed (1: the file,
 * read or write; 0: the connection). A download whose file ends before `length` bytes (the file
 * shrank) reports eof with fewer bytes; the caller decides (src/data/pump.ts: 451).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "napi-check.h"

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
  int file_err; /* 1: err comes from the file (read, write), 0: from the connection */
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
      job->file_err = 1;
      break;
    }
    job->bytes += (int64_t)keep;
    if (job->over_limit) break;
  }
  free(buf);
}

/* True for the errors sendfile(2) reports about its output socket; anything else is about the file. */
static int socket_errno(int e) {
  switch (e) {
  case EPIPE:
  case ECONNRESET:
  case ECONNABORTED:
  case ENOTCONN:
  case ETIMEDOUT:
  case EHOSTUNREACH:
  case EHOSTDOWN:
  case ENETUNREACH:
  case ENETDOWN:
  case ENETRESET:
    return 1;
  default:
    return 0;
  }
}

/*
 * Download direction: sendfile(2) from the file to the (non-blocking) socket, from `offset` for
 * `limit` bytes, waiting for POLLOUT when the socket buffer is full. The kernel copies page-cache
 * pages straight into the socket: no read into user memory, no JavaScript per chunk. A file that
 * shrinks meanwhile ends the transfer early (eof with fewer bytes: never success for the caller); a
 * read error of the file (EIO, EINVAL for a file sendfile cannot read) is a file error.
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
      job->file_err = !socket_errno(errno);
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

/* Builds the job's result object; false when an N-API call failed. */
static bool pump_result(napi_env env, PumpJob *job, napi_value *result) {
  napi_value v;
  NAPI_CALL_BOOL(env, napi_create_object(env, result));
  NAPI_CALL_BOOL(env, napi_create_double(env, (double)job->bytes, &v));
  NAPI_CALL_BOOL(env, napi_set_named_property(env, *result, "bytes", v));
  NAPI_CALL_BOOL(env, napi_get_boolean(env, job->eof, &v));
  NAPI_CALL_BOOL(env, napi_set_named_property(env, *result, "eof", v));
  NAPI_CALL_BOOL(env, napi_create_int32(env, job->err, &v));
  NAPI_CALL_BOOL(env, napi_set_named_property(env, *result, "err", v));
  NAPI_CALL_BOOL(env, napi_get_boolean(env, job->file_err, &v));
  NAPI_CALL_BOOL(env, napi_set_named_property(env, *result, "fileErr", v));
  NAPI_CALL_BOOL(env, napi_get_boolean(env, job->over_limit, &v));
  NAPI_CALL_BOOL(env, napi_set_named_property(env, *result, "overLimit", v));
  NAPI_CALL_BOOL(env, napi_get_boolean(env, job->timed_out, &v));
  NAPI_CALL_BOOL(env, napi_set_named_property(env, *result, "timedOut", v));
  NAPI_CALL_BOOL(env, napi_get_boolean(env, atomic_load(&job->cancelled), &v));
  NAPI_CALL_BOOL(env, napi_set_named_property(env, *result, "cancelled", v));
  return true;
}

static void pump_complete(napi_env env, napi_status status, void *data) {
  PumpJob *job = data;
  /* The job's own descriptors: nothing uses them any more. */
  close(job->sock);
  close(job->file);
  napi_value result;
  if (status == napi_ok && pump_result(env, job, &result)) {
    napi_resolve_deferred(env, job->deferred, result);
  } else {
    /* The promise must settle whatever happened: a transfer waiting on it would hang for ever. */
    napi_value error = NULL, message = NULL;
    bool pending = false;
    if (napi_is_exception_pending(env, &pending) == napi_ok && pending)
      napi_get_and_clear_last_exception(env, &error);
    if (error == NULL && napi_create_string_utf8(env, "tsftpd_pump: the job could not complete",
                                                 NAPI_AUTO_LENGTH, &message) == napi_ok)
      napi_create_error(env, NULL, message, &error);
    if (error == NULL) napi_get_undefined(env, &error);
    napi_reject_deferred(env, job->deferred, error);
  }
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
  NAPI_CALL(env, napi_get_cb_info(env, info, NULL, NULL, NULL, &data));
  PumpJob *job = data;
  napi_value v;
  NAPI_CALL(env, napi_create_double(env, (double)atomic_load(&job->bytes), &v));
  return v;
}

static napi_value cancel_fn(napi_env env, napi_callback_info info) {
  void *data = NULL;
  NAPI_CALL(env, napi_get_cb_info(env, info, NULL, NULL, NULL, &data));
  PumpJob *job = data;
  atomic_store(&job->cancelled, 1);
  return NULL;
}

/*
 * Builds the job's promise and its cancel/progress functions, and queues it on the pool. On
 * failure the job (and its descriptors) is released here and NULL is returned, an error pending.
 */
static napi_value start_job(napi_env env, PumpJob *job) {
  napi_value result, promise, cancel, progress, name, holder;
  if (napi_create_object(env, &result) != napi_ok ||
      napi_create_promise(env, &job->deferred, &promise) != napi_ok) {
    napi_check_throw(env, "napi_create_promise");
    close(job->sock);
    close(job->file);
    free(job);
    return NULL;
  }
  /* From here on the job is freed when both the work completed and the cancel function was collected;
   * until the work is queued, a failure completes it by hand (the promise rejects). */
  job->refs = 2;
  if (napi_create_external(env, job, finalize_job, NULL, &holder) != napi_ok) {
    job->refs = 1;
    goto fail;
  }
  if (napi_create_function(env, "cancel", NAPI_AUTO_LENGTH, cancel_fn, job, &cancel) != napi_ok ||
      napi_set_named_property(env, cancel, "job", holder) != napi_ok ||
      napi_create_function(env, "progress", NAPI_AUTO_LENGTH, progress_fn, job, &progress) != napi_ok ||
      /* progress() reaches the job only while cancel (which holds it) is alive: keep it there. */
      napi_set_named_property(env, progress, "cancel", cancel) != napi_ok ||
      napi_set_named_property(env, result, "progress", progress) != napi_ok ||
      napi_set_named_property(env, result, "promise", promise) != napi_ok ||
      napi_set_named_property(env, result, "cancel", cancel) != napi_ok ||
      napi_create_string_utf8(env, "tsftpd_pump", NAPI_AUTO_LENGTH, &name) != napi_ok)
    goto fail;
  if (napi_create_async_work(env, NULL, name, job->sending ? send_execute : pump_execute, pump_complete, job,
                             &job->work) != napi_ok)
    goto fail;
  if (napi_queue_async_work(env, job->work) != napi_ok) {
    napi_delete_async_work(env, job->work);
    goto fail;
  }
  return result;
fail:
  napi_check_throw(env, "tsftpd_pump: starting the job");
  {
    /* Settle the promise nobody will see, release the descriptors and the work's reference. */
    napi_value undefined;
    if (napi_get_undefined(env, &undefined) == napi_ok) napi_reject_deferred(env, job->deferred, undefined);
    close(job->sock);
    close(job->file);
    unref_job(job);
  }
  return NULL;
}

/*
 * Reads the five arguments shared by both directions into a new job (NULL: an exception is pending):
 * two descriptors (duplicated for the job, the first one must be a socket) and three integers.
 */
static PumpJob *new_job(napi_env env, napi_callback_info info, const char *usage) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    napi_check_throw(env, "napi_get_cb_info");
    return NULL;
  }
  if (argc < 5) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", usage);
    return NULL;
  }
  int sock = -1, file = -1;
  int64_t offset = 0, limit = 0, idle_ms = 0;
  const int64_t max = (int64_t)1 << 53;
  if (!napi_check_fd(env, argv[0], "sock", &sock) || !napi_check_fd(env, argv[1], "file", &file) ||
      !napi_check_integer(env, argv[2], "offset", -1, max, &offset) ||
      !napi_check_integer(env, argv[3], "limit", -1, max, &limit) ||
      !napi_check_integer(env, argv[4], "idleMs", 0, INT32_MAX, &idle_ms))
    return NULL;
  struct stat st;
  if (fstat(sock, &st) != 0 || !S_ISSOCK(st.st_mode)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "sock is not an open socket descriptor");
    return NULL;
  }
  if (fcntl(file, F_GETFD) < 0) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "file is not an open descriptor");
    return NULL;
  }
  PumpJob *job = calloc(1, sizeof(PumpJob));
  if (job == NULL) {
    napi_throw_error(env, "ERR_NO_MEMORY", "out of memory");
    return NULL;
  }
  /* The job's own descriptors (see the file note); above 2 so that they are never stdio numbers. */
  job->sock = fcntl(sock, F_DUPFD_CLOEXEC, 3);
  job->file = job->sock < 0 ? -1 : fcntl(file, F_DUPFD_CLOEXEC, 3);
  if (job->sock < 0 || job->file < 0) {
    if (job->sock >= 0) close(job->sock);
    free(job);
    napi_throw_error(env, "ERR_DUP", "cannot duplicate the descriptors (too many open files?)");
    return NULL;
  }
  job->offset = offset;
  job->limit = limit;
  job->idle_ms = idle_ms;
  atomic_init(&job->cancelled, 0);
  atomic_init(&job->bytes, 0);
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
    close(job->sock);
    close(job->file);
    free(job);
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "offset and length must not be negative");
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
  NAPI_CALL(env, napi_define_properties(env, exports, 2, props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
