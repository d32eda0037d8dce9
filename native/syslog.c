/*
 * tsftpd_syslog: sends log lines to the local syslog socket (RFC 3164 over a UNIX datagram socket),
 * on libuv's thread pool. Node.js has no UNIX datagram sockets; glibc's syslog(3) would also do, but
 * it always uses /dev/log (untestable) and may block while the daemon is busy — which is why this
 * runs off the event loop. Lines are bounded (the caller truncates them) and nothing is retried: a
 * missing or full syslog socket drops the line, never the server.
 *
 * Inputs: every N-API call is checked (napi-check.h). The socket path is copied whole or refused
 * (a path longer than sun_path or holding a NUL byte throws: truncated, it would name another
 * socket). A line that is not a string, longer than MAX_LINE bytes or holding a NUL byte is not
 * sent, never sent cut: it counts as not sent, and the caller warns that lines were lost.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "napi-check.h"

/* Longest record in bytes (the caller caps a message at 1900 characters: up to ~5.8 KB of UTF-8). */
#define MAX_LINE 8192
#define MAX_LINES 4096

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
  char **lines;
  int *priorities;
  size_t count;
  size_t sent;
} SyslogJob;

static void syslog_execute(napi_env env, void *data) {
  (void)env;
  SyslogJob *job = data;
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, job->path, sizeof addr.sun_path); /* NUL-terminated: checked at the call */
  for (size_t i = 0; i < job->count; i++) {
    if (sendto(fd, job->lines[i], strlen(job->lines[i]), MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&addr,
               sizeof addr) >= 0)
      job->sent++;
  }
  close(fd);
}

static void free_job(SyslogJob *job) {
  for (size_t i = 0; i < job->count; i++) free(job->lines[i]);
  free(job->lines);
  free(job->priorities);
  free(job);
}

static void syslog_complete(napi_env env, napi_status status, void *data) {
  SyslogJob *job = data;
  napi_value sent = NULL;
  if (status == napi_ok && napi_create_uint32(env, (uint32_t)job->sent, &sent) == napi_ok) {
    napi_resolve_deferred(env, job->deferred, sent);
  } else {
    napi_value error = NULL, message = NULL;
    if (napi_create_string_utf8(env, "tsftpd_syslog: the job could not complete", NAPI_AUTO_LENGTH, &message) ==
        napi_ok)
      napi_create_error(env, NULL, message, &error);
    if (error == NULL) napi_get_undefined(env, &error);
    napi_reject_deferred(env, job->deferred, error);
  }
  napi_delete_async_work(env, job->work);
  free_job(job);
}

/*
 * A whole copy of one line, or NULL when it is unusable (not a string, longer than MAX_LINE bytes,
 * a NUL byte inside): such a line is skipped, never sent cut. *failed is set on an N-API failure.
 */
static char *copy_line(napi_env env, napi_value v, bool *failed) {
  napi_valuetype type;
  if (napi_typeof(env, v, &type) != napi_ok) {
    *failed = true;
    return NULL;
  }
  if (type != napi_string) return NULL;
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
    *failed = true;
    return NULL;
  }
  if (len > MAX_LINE) return NULL;
  char *line = malloc(len + 1);
  if (line == NULL) return NULL;
  size_t copied = 0;
  if (napi_get_value_string_utf8(env, v, line, len + 1, &copied) != napi_ok || copied != len) {
    free(line);
    *failed = true;
    return NULL;
  }
  if (memchr(line, '\0', len) != NULL) {
    free(line);
    return NULL;
  }
  return line;
}

/* send(socketPath, lines: string[]): Promise<number> — each line already formatted as <PRI>... */
static napi_value send_lines(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "send(path, lines) expected");
    return NULL;
  }
  bool is_array = false;
  NAPI_CALL(env, napi_is_array(env, argv[1], &is_array));
  if (!is_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "lines must be an array");
    return NULL;
  }
  char *path = napi_check_string(env, argv[0], "path", sizeof(((SyslogJob *)0)->path) - 1);
  if (path == NULL) return NULL;
  SyslogJob *job = calloc(1, sizeof(SyslogJob));
  if (job == NULL) {
    free(path);
    napi_throw_error(env, "ERR_NO_MEMORY", "out of memory");
    return NULL;
  }
  memcpy(job->path, path, strlen(path) + 1);
  free(path);
  uint32_t n = 0;
  if (napi_get_array_length(env, argv[1], &n) != napi_ok) {
    free_job(job);
    napi_check_throw(env, "napi_get_array_length");
    return NULL;
  }
  /* Lines past MAX_LINES are not sent: the count returned tells the caller (it sends at most 1024). */
  if (n > MAX_LINES) n = MAX_LINES;
  job->lines = calloc(n ? n : 1, sizeof(char *));
  if (job->lines == NULL) {
    free_job(job);
    napi_throw_error(env, "ERR_NO_MEMORY", "out of memory");
    return NULL;
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    bool failed = false;
    char *line = NULL;
    if (napi_get_element(env, argv[1], i, &v) != napi_ok) failed = true;
    else line = copy_line(env, v, &failed);
    if (failed) {
      free_job(job);
      napi_check_throw(env, "napi_get_element");
      return NULL;
    }
    if (line != NULL) job->lines[job->count++] = line;
  }
  napi_value promise, name;
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok) {
    free_job(job);
    napi_check_throw(env, "napi_create_promise");
    return NULL;
  }
  if (napi_create_string_utf8(env, "tsftpd_syslog", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, syslog_execute, syslog_complete, job, &job->work) != napi_ok) {
    napi_check_throw(env, "napi_create_async_work");
    napi_value undefined;
    if (napi_get_undefined(env, &undefined) == napi_ok) napi_reject_deferred(env, job->deferred, undefined);
    free_job(job);
    return NULL;
  }
  if (napi_queue_async_work(env, job->work) != napi_ok) {
    napi_check_throw(env, "napi_queue_async_work");
    napi_delete_async_work(env, job->work);
    napi_value undefined;
    if (napi_get_undefined(env, &undefined) == napi_ok) napi_reject_deferred(env, job->deferred, undefined);
    free_job(job);
    return NULL;
  }
  return promise;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"send", NULL, send_lines, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  NAPI_CALL(env, napi_define_properties(env, exports, 1, props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
