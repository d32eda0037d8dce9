/*
 * Checked N-API calls and argument readers shared by the addons (pump.c, syslog.c, crypt.c, pam.c).
 *
 * Guarantees: every napi_* call is checked; a failed call throws a JavaScript error (unless one is
 * already pending) and the binding returns NULL; numbers taken from JavaScript are checked to be
 * integers within the caller's range (napi_get_value_int32 alone turns NaN, 2.5 or 2^40 into some
 * int32 without a word); strings are copied whole or refused, never truncated, and a string holding
 * a NUL byte is refused (C would silently see only the part before it).
 */
#ifndef TSFTPD_NAPI_CHECK_H
#define TSFTPD_NAPI_CHECK_H

#include <math.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Throws an Error naming the failed call, unless an exception is already pending. */
static inline void napi_check_throw(napi_env env, const char *call) {
  /* The last error info must be read before any other N-API call resets it. */
  const napi_extended_error_info *info = NULL;
  const char *text = "N-API call failed";
  if (napi_get_last_error_info(env, &info) == napi_ok && info != NULL && info->error_message != NULL)
    text = info->error_message;
  char message[256];
  snprintf(message, sizeof message, "%s: %s", call, text);
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) return;
  napi_throw_error(env, "ERR_NAPI_CALL", message);
}

/* In a binding: runs an N-API call; on failure throws and returns NULL from the binding. */
#define NAPI_CALL(env, call)                                                                                 \
  do {                                                                                                       \
    if ((call) != napi_ok) {                                                                                 \
      napi_check_throw((env), #call);                                                                        \
      return NULL;                                                                                           \
    }                                                                                                        \
  } while (0)

/* In a function returning bool: runs an N-API call; on failure throws and returns false. */
#define NAPI_CALL_BOOL(env, call)                                                                            \
  do {                                                                                                       \
    if ((call) != napi_ok) {                                                                                 \
      napi_check_throw((env), #call);                                                                        \
      return false;                                                                                          \
    }                                                                                                        \
  } while (0)

/* Throws a TypeError or RangeError with `name` and `what` ("fd must be ..."); returns false. */
static inline bool napi_check_fail(napi_env env, bool range, const char *name, const char *what) {
  char message[160];
  snprintf(message, sizeof message, "%s %s", name, what);
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) return false;
  if (range)
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", message);
  else
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
  return false;
}

/*
 * Reads an integer in [min, max] (|min|, |max| <= 2^53) into *out; anything else (not a number,
 * NaN, a fraction, out of range) throws and returns false.
 */
static inline bool napi_check_integer(napi_env env, napi_value v, const char *name, int64_t min, int64_t max,
                                      int64_t *out) {
  napi_valuetype type;
  NAPI_CALL_BOOL(env, napi_typeof(env, v, &type));
  if (type != napi_number) return napi_check_fail(env, false, name, "must be a number");
  double d = 0;
  NAPI_CALL_BOOL(env, napi_get_value_double(env, v, &d));
  if (!isfinite(d) || floor(d) != d) return napi_check_fail(env, false, name, "must be an integer");
  if (d < (double)min || d > (double)max) return napi_check_fail(env, true, name, "is out of range");
  *out = (int64_t)d;
  return true;
}

/* Reads a descriptor: an integer 0..INT32_MAX (a negative fd is refused with a TypeError). */
static inline bool napi_check_fd(napi_env env, napi_value v, const char *name, int *out) {
  napi_valuetype type;
  NAPI_CALL_BOOL(env, napi_typeof(env, v, &type));
  if (type != napi_number) return napi_check_fail(env, false, name, "must be a file descriptor (a number)");
  double d = 0;
  NAPI_CALL_BOOL(env, napi_get_value_double(env, v, &d));
  if (!isfinite(d) || floor(d) != d || d < 0 || d > (double)INT32_MAX)
    return napi_check_fail(env, false, name, "must be a non-negative integer file descriptor");
  *out = (int)d;
  return true;
}

/*
 * Copies a JavaScript string of at most `max` UTF-8 bytes into a new NUL-terminated buffer (free it
 * with free(), or wipe it first when it holds a secret). A non-string throws a TypeError, a longer
 * string a RangeError, a string holding a NUL byte a TypeError: NULL is returned in every case.
 */
static inline char *napi_check_string(napi_env env, napi_value v, const char *name, size_t max) {
  napi_valuetype type;
  if (napi_typeof(env, v, &type) != napi_ok) {
    napi_check_throw(env, "napi_typeof");
    return NULL;
  }
  if (type != napi_string) {
    napi_check_fail(env, false, name, "must be a string");
    return NULL;
  }
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
    napi_check_throw(env, "napi_get_value_string_utf8");
    return NULL;
  }
  if (len > max) {
    napi_check_fail(env, true, name, "is too long");
    return NULL;
  }
  char *buf = malloc(len + 1);
  if (buf == NULL) {
    napi_throw_error(env, "ERR_NO_MEMORY", "out of memory");
    return NULL;
  }
  size_t copied = 0;
  if (napi_get_value_string_utf8(env, v, buf, len + 1, &copied) != napi_ok || copied != len) {
    free(buf);
    napi_check_throw(env, "napi_get_value_string_utf8");
    return NULL;
  }
  if (memchr(buf, '\0', len) != NULL) {
    memset(buf, 0, len);
    free(buf);
    napi_check_fail(env, false, name, "must not contain NUL bytes");
    return NULL;
  }
  return buf;
}

#endif
