/*
 * tsftpd_syslog: sends log lines to the local syslog socket (RFC 3164 over a UNIX datagram socket),
 * on libuv's thread pool. Node.js has no UNIX datagram sockets; glibc's syslog(3) would also do, but
 * it always uses /dev/log (untestable) and may block while the daemon is busy — which is why this
 * runs off the event loop. Lines are bounded (the caller truncates them) and nothing is retried: a
 * missing or full syslog socket drops the line, never the server.
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

#define MAX_LINE 2048
#define MAX_LINES 4096

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  char path[108];
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
  memcpy(addr.sun_path, job->path, strnlen(job->path, sizeof addr.sun_path - 1));
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
  (void)status;
  SyslogJob *job = data;
  napi_value sent;
  napi_create_uint32(env, (uint32_t)job->sent, &sent);
  napi_resolve_deferred(env, job->deferred, sent);
  napi_delete_async_work(env, job->work);
  free_job(job);
}

/* send(socketPath, lines: string[]): Promise<number> — each line already formatted as <PRI>... */
static napi_value send_lines(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2) {
    napi_throw_type_error(env, NULL, "send(path, lines) expected");
    return NULL;
  }
  SyslogJob *job = calloc(1, sizeof(SyslogJob));
  if (job == NULL) return NULL;
  size_t len = 0;
  napi_get_value_string_utf8(env, argv[0], job->path, sizeof job->path, &len);
  uint32_t n = 0;
  napi_get_array_length(env, argv[1], &n);
  if (n > MAX_LINES) n = MAX_LINES;
  job->lines = calloc(n ? n : 1, sizeof(char *));
  if (job->lines == NULL) {
    free(job);
    return NULL;
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    napi_get_element(env, argv[1], i, &v);
    char *line = malloc(MAX_LINE);
    if (line == NULL) break;
    size_t got = 0;
    if (napi_get_value_string_utf8(env, v, line, MAX_LINE, &got) != napi_ok) {
      free(line);
      continue;
    }
    job->lines[job->count++] = line;
  }
  napi_value promise, name;
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_string_utf8(env, "tsftpd_syslog", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, syslog_execute, syslog_complete, job, &job->work);
  napi_queue_async_work(env, job->work);
  return promise;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"send", NULL, send_lines, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, 1, props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
