/*
 * tsftpd_channel (security-sensitive, see SECURITY.md): framed messages with file descriptors
 * between tsftpd processes, over a UNIX stream socket watched by Node's event loop (Node itself
 * passes only sockets between processes).
 *
 * Wire format: each frame is a header [u32 payload length][u32 descriptor count], little endian,
 * then the payload. The descriptors (at most CHANNEL_MAX_FDS) travel as SCM_RIGHTS with the sendmsg
 * that carries the first byte of the header, so they arrive with or before it; the receiver keeps
 * them in arrival order and gives each frame its count.
 *
 * Guarantees:
 * - bounded: a payload of at most CHANNEL_MAX_PAYLOAD bytes, CHANNEL_MAX_FDS descriptors per frame,
 *   CHANNEL_MAX_QUEUED bytes waiting to be sent (send throws a RangeError beyond), and at most
 *   CHANNEL_MAX_PENDING_FDS descriptors received ahead of their frame; a peer that breaks a bound or
 *   the format (truncated control data included) closes the channel with EPROTO;
 * - nothing blocks: the socket is non-blocking, partial writes wait for writability;
 * - descriptors: send() duplicates the caller's at once (it may close them right after); received
 *   ones belong to JavaScript once its frame is delivered; every other one (queued, received and
 *   unclaimed) is closed when the channel closes; all are close-on-exec;
 * - onClose runs exactly once, after every frame received before the end; nothing runs after
 *   close(); memory is freed once both libuv and JavaScript are done with the channel.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <uv.h>

#define CHANNEL_MAX_PAYLOAD (64u * 1024u * 1024u)
#define CHANNEL_MAX_FDS 16
#define CHANNEL_MAX_QUEUED (256u * 1024u * 1024u)
#define CHANNEL_MAX_PENDING_FDS 256
#define HEADER_BYTES 8

typedef struct Out {
  struct Out *next;
  char *data; /* header + payload */
  size_t len, off;
  int fds[CHANNEL_MAX_FDS];
  int nfds;
} Out;

typedef struct {
  napi_env env;
  uv_poll_t poll;
  int fd;
  int closed;    /* close() called, or the end delivered */
  int uv_closed; /* libuv is done with the poll handle */
  int finalized; /* JavaScript is done with the handle */
  int events;    /* events the poll watches now */
  napi_ref on_frame, on_close;
  napi_async_context async;
  char *rbuf;
  size_t rlen, rcap;
  int pending[CHANNEL_MAX_PENDING_FDS];
  size_t npending;
  Out *head, *tail;
  size_t queued;
} Chan;

static void free_chan(Chan *c) {
  free(c->rbuf);
  free(c);
}

static void on_uv_closed(uv_handle_t *h) {
  Chan *c = h->data;
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
  c->uv_closed = 1;
  if (c->finalized) free_chan(c);
}

/* Releases everything but the memory: poll, descriptors, queue, JavaScript references. */
static void shutdown_chan(Chan *c) {
  if (c->closed) return;
  c->closed = 1;
  for (size_t i = 0; i < c->npending; i++) close(c->pending[i]);
  c->npending = 0;
  while (c->head != NULL) {
    Out *o = c->head;
    c->head = o->next;
    for (int i = 0; i < o->nfds; i++) close(o->fds[i]);
    free(o->data);
    free(o);
  }
  c->tail = NULL;
  c->queued = 0;
  if (c->on_frame != NULL) napi_delete_reference(c->env, c->on_frame);
  if (c->on_close != NULL) napi_delete_reference(c->env, c->on_close);
  c->on_frame = c->on_close = NULL;
  if (c->async != NULL) napi_async_destroy(c->env, c->async);
  c->async = NULL;
  uv_poll_stop(&c->poll);
  uv_close((uv_handle_t *)&c->poll, on_uv_closed);
}

/* Calls a JavaScript callback; an exception it throws becomes an uncaught exception of Node. */
static void call_js(Chan *c, napi_ref ref, size_t argc, napi_value *argv) {
  napi_env env = c->env;
  napi_value fn, recv, result;
  if (ref == NULL || napi_get_reference_value(env, ref, &fn) != napi_ok || fn == NULL) return;
  if (napi_get_global(env, &recv) != napi_ok) return; /* make_callback needs an object */
  if (napi_make_callback(env, c->async, recv, fn, argc, argv, &result) != napi_ok) {
    bool pending = false;
    napi_value err;
    if (napi_is_exception_pending(env, &pending) == napi_ok && pending &&
        napi_get_and_clear_last_exception(env, &err) == napi_ok)
      napi_fatal_exception(env, err);
  }
}

/* Delivers the end (once), then closes. */
static void end_chan(Chan *c, int err) {
  if (c->closed) return;
  napi_handle_scope scope;
  if (napi_open_handle_scope(c->env, &scope) == napi_ok) {
    napi_value v;
    if (napi_create_int32(c->env, err, &v) == napi_ok) {
      napi_ref ref = c->on_close;
      c->on_close = NULL; /* exactly once, even if the callback closes the channel */
      call_js(c, ref, 1, &v);
      if (ref != NULL) napi_delete_reference(c->env, ref);
    }
    napi_close_handle_scope(c->env, scope);
  }
  shutdown_chan(c);
}

static void watch(Chan *c, int events);

/* Writes what the socket takes now; 0, or an errno that ends the channel. */
static int flush(Chan *c) {
  while (c->head != NULL) {
    Out *o = c->head;
    struct iovec iov = {o->data + o->off, o->len - o->off};
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    char cbuf[CMSG_SPACE(sizeof(int) * CHANNEL_MAX_FDS)];
    if (o->off == 0 && o->nfds > 0) {
      memset(cbuf, 0, sizeof cbuf);
      msg.msg_control = cbuf;
      msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)o->nfds);
      struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
      cm->cmsg_level = SOL_SOCKET;
      cm->cmsg_type = SCM_RIGHTS;
      cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)o->nfds);
      memcpy(CMSG_DATA(cm), o->fds, sizeof(int) * (size_t)o->nfds);
    }
    ssize_t n = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    if (n <= 0) return n < 0 ? errno : EPIPE;
    if (o->off == 0 && o->nfds > 0) {
      /* In flight: the kernel holds its own references now. */
      for (int i = 0; i < o->nfds; i++) close(o->fds[i]);
      o->nfds = 0;
    }
    o->off += (size_t)n;
    c->queued -= (size_t)n;
    if (o->off == o->len) {
      c->head = o->next;
      if (c->head == NULL) c->tail = NULL;
      free(o->data);
      free(o);
    }
  }
  return 0;
}

/* Hands every complete frame of the buffer to JavaScript; 0, or EPROTO. */
static int deliver(Chan *c) {
  size_t at = 0;
  int err = 0;
  while (!c->closed && c->rlen - at >= HEADER_BYTES) {
    uint32_t len, nfds;
    memcpy(&len, c->rbuf + at, 4);
    memcpy(&nfds, c->rbuf + at + 4, 4);
    if (len > CHANNEL_MAX_PAYLOAD || nfds > CHANNEL_MAX_FDS || nfds > c->npending) {
      err = EPROTO;
      break;
    }
    if (c->rlen - at < HEADER_BYTES + (size_t)len) break;
    napi_handle_scope scope;
    if (napi_open_handle_scope(c->env, &scope) != napi_ok) {
      err = EIO;
      break;
    }
    napi_value argv[2];
    void *copy = NULL;
    int built = napi_create_buffer_copy(c->env, len, c->rbuf + at + HEADER_BYTES, &copy, &argv[0]) == napi_ok &&
                napi_create_array_with_length(c->env, nfds, &argv[1]) == napi_ok;
    for (uint32_t i = 0; built && i < nfds; i++) {
      napi_value v;
      built = napi_create_int32(c->env, c->pending[i], &v) == napi_ok && napi_set_element(c->env, argv[1], i, v) == napi_ok;
    }
    if (!built) {
      napi_close_handle_scope(c->env, scope);
      err = EIO;
      break;
    }
    /* The frame's descriptors are JavaScript's from here on. */
    memmove(c->pending, c->pending + nfds, sizeof(int) * (c->npending - nfds));
    c->npending -= nfds;
    at += HEADER_BYTES + (size_t)len;
    call_js(c, c->on_frame, 2, argv);
    napi_close_handle_scope(c->env, scope);
  }
  if (!c->closed && at > 0) {
    memmove(c->rbuf, c->rbuf + at, c->rlen - at);
    c->rlen -= at;
  }
  return err;
}

/* Reads what the socket has; 0, -1 at the end of the stream, or an errno. */
static int receive(Chan *c) {
  for (int rounds = 0; rounds < 64 && !c->closed; rounds++) {
    /* Room for a whole frame once its header says how big it is. */
    size_t want = c->rcap - c->rlen < 65536 ? c->rcap + 65536 : c->rcap;
    if (c->rlen >= HEADER_BYTES) {
      uint32_t len;
      memcpy(&len, c->rbuf, 4);
      if (len <= CHANNEL_MAX_PAYLOAD && HEADER_BYTES + (size_t)len > want) want = HEADER_BYTES + (size_t)len;
    }
    if (want > c->rcap) {
      char *grown = realloc(c->rbuf, want);
      if (grown == NULL) return ENOMEM;
      c->rbuf = grown;
      c->rcap = want;
    }
    struct iovec iov = {c->rbuf + c->rlen, c->rcap - c->rlen};
    char cbuf[CMSG_SPACE(sizeof(int) * CHANNEL_MAX_FDS * 4)];
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf;
    msg.msg_controllen = sizeof cbuf;
    ssize_t n = recvmsg(c->fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    if (n < 0) return errno;
    int bad = (msg.msg_flags & MSG_CTRUNC) != 0;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm)) {
      if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
      size_t count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      int *fds = (int *)CMSG_DATA(cm);
      for (size_t i = 0; i < count; i++) {
        if (bad || c->npending >= CHANNEL_MAX_PENDING_FDS) {
          close(fds[i]);
          bad = 1;
        } else {
          c->pending[c->npending++] = fds[i];
        }
      }
    }
    if (bad) return EPROTO;
    if (n == 0) return -1;
    c->rlen += (size_t)n;
    int err = deliver(c);
    if (err != 0) return err;
  }
  return 0;
}

static void on_poll(uv_poll_t *h, int status, int events) {
  Chan *c = h->data;
  if (c->closed) return;
  if (status < 0) {
    end_chan(c, -status);
    return;
  }
  if (events & UV_WRITABLE) {
    int err = flush(c);
    if (err != 0) {
      end_chan(c, err);
      return;
    }
  }
  if (events & (UV_READABLE | UV_DISCONNECT)) {
    int r = receive(c);
    if (c->closed) return;
    if (r != 0) {
      end_chan(c, r < 0 ? 0 : r);
      return;
    }
  }
  watch(c, UV_READABLE | (c->head != NULL ? UV_WRITABLE : 0));
}

static void watch(Chan *c, int events) {
  if (c->closed || events == c->events) return;
  c->events = events;
  uv_poll_start(&c->poll, events, on_poll);
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  Chan *c = data;
  c->finalized = 1;
  shutdown_chan(c); /* no-op when already closed */
  if (c->uv_closed) free_chan(c);
}

/* ---- JavaScript functions ---- */

static Chan *chan_arg(napi_env env, napi_value v) {
  napi_valuetype t;
  void *data = NULL;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external || napi_get_value_external(env, v, &data) != napi_ok ||
      data == NULL) {
    napi_throw_type_error(env, NULL, "a channel handle is expected");
    return NULL;
  }
  return data;
}

static int int_arg(napi_env env, napi_value v, int64_t min, int64_t max, int64_t *out) {
  napi_valuetype t;
  double d;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number || napi_get_value_double(env, v, &d) != napi_ok ||
      d != (double)(int64_t)d || d < (double)min || d > (double)max) {
    napi_throw_range_error(env, NULL, "an integer in range is expected");
    return 0;
  }
  *out = (int64_t)d;
  return 1;
}

/* socketpair(): [fd, fd], both ends non-blocking and close-on-exec. */
static napi_value socketpair_call(napi_env env, napi_callback_info info) {
  (void)info;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) != 0) {
    napi_throw_error(env, NULL, strerror(errno));
    return NULL;
  }
  napi_value arr, a, b;
  if (napi_create_array_with_length(env, 2, &arr) != napi_ok || napi_create_int32(env, sv[0], &a) != napi_ok ||
      napi_create_int32(env, sv[1], &b) != napi_ok || napi_set_element(env, arr, 0, a) != napi_ok ||
      napi_set_element(env, arr, 1, b) != napi_ok) {
    close(sv[0]);
    close(sv[1]);
    return NULL;
  }
  return arr;
}

/* open(fd, onFrame(payload, fds), onClose(errno)): handle — takes the descriptor over. */
static napi_value open_call(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int64_t fd;
  napi_valuetype t1, t2;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 ||
      !int_arg(env, argv[0], 0, INT32_MAX, &fd))
    return NULL;
  if (napi_typeof(env, argv[1], &t1) != napi_ok || t1 != napi_function || napi_typeof(env, argv[2], &t2) != napi_ok ||
      t2 != napi_function) {
    napi_throw_type_error(env, NULL, "open(fd, onFrame, onClose) expected");
    return NULL;
  }
  int flags = fcntl((int)fd, F_GETFL);
  if (flags < 0 || fcntl((int)fd, F_SETFL, flags | O_NONBLOCK) != 0 || fcntl((int)fd, F_SETFD, FD_CLOEXEC) != 0) {
    napi_throw_error(env, NULL, strerror(errno));
    return NULL;
  }
  uv_loop_t *loop = NULL;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == NULL) {
    napi_throw_error(env, NULL, "no event loop");
    return NULL;
  }
  Chan *c = calloc(1, sizeof(Chan));
  if (c == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  c->env = env;
  c->fd = (int)fd;
  napi_value name, handle;
  if (napi_create_reference(env, argv[1], 1, &c->on_frame) != napi_ok ||
      napi_create_reference(env, argv[2], 1, &c->on_close) != napi_ok ||
      napi_create_string_utf8(env, "tsftpd_channel", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, NULL, name, &c->async) != napi_ok || uv_poll_init(loop, &c->poll, c->fd) != 0) {
    if (c->on_frame != NULL) napi_delete_reference(env, c->on_frame);
    if (c->on_close != NULL) napi_delete_reference(env, c->on_close);
    if (c->async != NULL) napi_async_destroy(env, c->async);
    free(c);
    napi_throw_error(env, NULL, "could not watch the channel");
    return NULL;
  }
  c->poll.data = c;
  if (napi_create_external(env, c, finalize, NULL, &handle) != napi_ok) {
    c->finalized = 1; /* no JavaScript handle: on_uv_closed frees it */
    shutdown_chan(c);
    return NULL;
  }
  watch(c, UV_READABLE);
  return handle;
}

/* send(handle, payload: Buffer, fds: number[]) */
static napi_value send_call(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3) {
    napi_throw_type_error(env, NULL, "send(handle, payload, fds) expected");
    return NULL;
  }
  Chan *c = chan_arg(env, argv[0]);
  if (c == NULL) return NULL;
  if (c->closed) {
    napi_throw_error(env, "ERR_CHANNEL_CLOSED", "the channel is closed");
    return NULL;
  }
  bool is_buffer = false, is_array = false;
  void *bytes = NULL;
  size_t len = 0;
  uint32_t nfds = 0;
  if (napi_is_buffer(env, argv[1], &is_buffer) != napi_ok || !is_buffer ||
      napi_get_buffer_info(env, argv[1], &bytes, &len) != napi_ok || napi_is_array(env, argv[2], &is_array) != napi_ok ||
      !is_array || napi_get_array_length(env, argv[2], &nfds) != napi_ok) {
    napi_throw_type_error(env, NULL, "a Buffer payload and an array of descriptors are expected");
    return NULL;
  }
  if (len > CHANNEL_MAX_PAYLOAD || nfds > CHANNEL_MAX_FDS) {
    napi_throw_range_error(env, NULL, "frame too large (64 MiB payload, 16 descriptors at most)");
    return NULL;
  }
  if (c->queued + HEADER_BYTES + len > CHANNEL_MAX_QUEUED) {
    napi_throw_range_error(env, "ERR_CHANNEL_FULL", "too much data waiting to be sent on the channel");
    return NULL;
  }
  Out *o = calloc(1, sizeof(Out));
  char *data = malloc(HEADER_BYTES + len);
  if (o == NULL || data == NULL) {
    free(o);
    free(data);
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  uint32_t l32 = (uint32_t)len;
  memcpy(data, &l32, 4);
  memcpy(data + 4, &nfds, 4);
  if (len > 0) memcpy(data + HEADER_BYTES, bytes, len);
  o->data = data;
  o->len = HEADER_BYTES + len;
  for (uint32_t i = 0; i < nfds; i++) {
    napi_value v;
    int64_t fd;
    int ok = napi_get_element(env, argv[2], i, &v) == napi_ok && int_arg(env, v, 0, INT32_MAX, &fd);
    int dup = ok ? fcntl((int)fd, F_DUPFD_CLOEXEC, 0) : -1;
    if (dup < 0) {
      for (int k = 0; k < o->nfds; k++) close(o->fds[k]);
      free(data);
      free(o);
      if (ok) napi_throw_error(env, NULL, strerror(errno));
      return NULL;
    }
    o->fds[o->nfds++] = dup;
  }
  if (c->tail == NULL) c->head = o;
  else c->tail->next = o;
  c->tail = o;
  c->queued += o->len;
  int err = flush(c);
  if (err != 0) {
    /* The peer is gone: the end is reported from the event loop, never from inside send(). */
    watch(c, UV_READABLE | UV_WRITABLE);
  } else {
    watch(c, UV_READABLE | (c->head != NULL ? UV_WRITABLE : 0));
  }
  return NULL;
}

/* close(handle): idempotent; no callback runs afterwards. */
static napi_value close_call(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) return NULL;
  Chan *c = chan_arg(env, argv[0]);
  if (c != NULL) shutdown_chan(c);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"socketpair", NULL, socketpair_call, NULL, NULL, NULL, napi_enumerable, NULL},
      {"open", NULL, open_call, NULL, NULL, NULL, napi_enumerable, NULL},
      {"send", NULL, send_call, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, close_call, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
