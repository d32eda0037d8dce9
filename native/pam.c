/*
 * tsftpd_pam: one PAM transaction per login (upstream §3.1 `-l pam`), exposed to Node.js.
 *
 * Guarantees: the whole transaction (pam_start, pam_authenticate, pam_acct_mgmt, pam_end and the
 * getpwnam_r lookup of the account) runs on libuv's thread pool, never on the event loop; every
 * input is bounded and refused when it holds a NUL byte; the conversation function answers
 * echo-off prompts with the password and never answers more than MAX_PROMPTS of them (a module that
 * keeps asking cannot loop forever); the copies of the password held here are zeroed before they
 * are freed. libpam's own failure delay is replaced by a no-op because the server applies its own
 * delay on a timer (upstream §12) — a sleeping PAM thread would block a thread-pool slot instead.
 * pam_setcred and pam_open_session are deliberately not called: their modules (pam_limits,
 * pam_loginuid, pam_systemd...) change the state of the whole process, and this process serves
 * every session at once. No authentication logic is implemented in this file.
 * Every N-API call is checked (napi-check.h); an argument that is not a string, too long or holds a
 * NUL byte throws (RangeError/TypeError), never reaches PAM truncated.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <node_api.h>
#include <pwd.h>
#include <stdio.h>
#include <security/pam_appl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "napi-check.h"

#define MAX_SERVICE 64
#define MAX_LOGIN 256
#define MAX_PASSWORD 512
#define MAX_HOST 64
#define MAX_PROMPTS 4
#define MAX_PWBUF (1024 * 1024)

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  char *service;
  char *login;
  char *password;
  char *rhost;
  int prompts;
  int ok;               /* 1: authenticated, account valid and known to getpwnam */
  const char *step;     /* the call that failed: "start", "authenticate", "account", "passwd" */
  int pam_code;         /* PAM return code of the failing step */
  char message[160];    /* pam_strerror() of the failing step */
  unsigned int uid;
  unsigned int gid;
  char *home;
} PamJob;

static void wipe_free(char *s) {
  if (s == NULL) return;
  explicit_bzero(s, strlen(s));
  free(s);
}

static void free_responses(struct pam_response *r, int n) {
  for (int i = 0; i < n; i++) wipe_free(r[i].resp);
  free(r);
}

/* The PAM conversation: the FTP client already gave its password, so prompts are answered from it. */
static int conversation(int num_msg, const struct pam_message **msg, struct pam_response **resp,
                        void *appdata) {
  PamJob *job = appdata;
  if (num_msg <= 0 || num_msg > PAM_MAX_NUM_MSG || resp == NULL) return PAM_CONV_ERR;
  struct pam_response *r = calloc((size_t)num_msg, sizeof *r);
  if (r == NULL) return PAM_BUF_ERR;
  for (int i = 0; i < num_msg; i++) {
    switch (msg[i]->msg_style) {
    case PAM_PROMPT_ECHO_OFF:
      if (++job->prompts > MAX_PROMPTS || (r[i].resp = strdup(job->password)) == NULL) {
        free_responses(r, num_msg);
        return PAM_CONV_ERR;
      }
      break;
    case PAM_PROMPT_ECHO_ON: /* "login:" prompts get the login, as Pure-FTPd's conversation does */
      if (++job->prompts > MAX_PROMPTS || (r[i].resp = strdup(job->login)) == NULL) {
        free_responses(r, num_msg);
        return PAM_CONV_ERR;
      }
      break;
    case PAM_ERROR_MSG:
    case PAM_TEXT_INFO:
      break;
    default:
      free_responses(r, num_msg);
      return PAM_CONV_ERR;
    }
  }
  *resp = r;
  return PAM_SUCCESS;
}

#ifdef PAM_FAIL_DELAY
static void no_fail_delay(int retval, unsigned usec_delay, void *appdata) {
  (void)retval;
  (void)usec_delay;
  (void)appdata;
}
#endif

static void fail(PamJob *job, pam_handle_t *pamh, const char *step, int code) {
  job->step = step;
  job->pam_code = code;
  const char *text = pamh != NULL ? pam_strerror(pamh, code) : "pam_start failed";
  snprintf(job->message, sizeof job->message, "%s", text != NULL ? text : "unknown PAM error");
}

static void lookup_account(PamJob *job) {
  long size = sysconf(_SC_GETPW_R_SIZE_MAX);
  if (size <= 0 || size > MAX_PWBUF) size = 16384;
  for (;;) {
    char *buf = malloc((size_t)size);
    if (buf == NULL) break;
    struct passwd pw, *found = NULL;
    int rc = getpwnam_r(job->login, &pw, buf, (size_t)size, &found);
    if (rc == 0 && found != NULL && pw.pw_dir != NULL) {
      job->uid = (unsigned int)pw.pw_uid;
      job->gid = (unsigned int)pw.pw_gid;
      job->home = strdup(pw.pw_dir);
      job->ok = job->home != NULL;
    }
    free(buf);
    if (rc != ERANGE || size >= MAX_PWBUF) break;
    size *= 2;
  }
  if (!job->ok) {
    job->step = "passwd";
    snprintf(job->message, sizeof job->message, "%s", "no such account in the system user database");
  }
}

static void execute(napi_env env, void *data) {
  (void)env;
  PamJob *job = data;
  pam_handle_t *pamh = NULL;
  struct pam_conv conv = {conversation, job};
  int rc = pam_start(job->service, job->login, &conv, &pamh);
  if (rc != PAM_SUCCESS || pamh == NULL) {
    fail(job, NULL, "start", rc);
    if (pamh != NULL) pam_end(pamh, rc);
    return;
  }
  /* Upstream §3.1: RUSER is the login; RHOST is the client's address (Pure-FTPd passes its own name). */
  pam_set_item(pamh, PAM_RUSER, job->login);
  pam_set_item(pamh, PAM_RHOST, job->rhost);
  pam_set_item(pamh, PAM_TTY, "pure-ftpd");
#ifdef PAM_FAIL_DELAY
  pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)no_fail_delay);
#endif
  rc = pam_authenticate(pamh, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
  if (rc != PAM_SUCCESS) {
    fail(job, pamh, "authenticate", rc);
  } else {
    /* An expired password (PAM_NEW_AUTHTOK_REQD) cannot be changed over FTP: it is a failure too. */
    rc = pam_acct_mgmt(pamh, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
    if (rc != PAM_SUCCESS) fail(job, pamh, "account", rc);
  }
  pam_end(pamh, rc);
  if (rc == PAM_SUCCESS) lookup_account(job);
}

/* Builds the result object; false when an N-API call failed. */
static bool pam_result(napi_env env, PamJob *job, napi_value *result) {
  napi_value v;
  NAPI_CALL_BOOL(env, napi_create_object(env, result));
  NAPI_CALL_BOOL(env, napi_get_boolean(env, job->ok, &v));
  NAPI_CALL_BOOL(env, napi_set_named_property(env, *result, "ok", v));
  NAPI_CALL_BOOL(env, napi_create_string_utf8(env, job->step != NULL ? job->step : "", NAPI_AUTO_LENGTH, &v));
  NAPI_CALL_BOOL(env, napi_set_named_property(env, *result, "step", v));
  NAPI_CALL_BOOL(env, napi_create_int32(env, job->pam_code, &v));
  NAPI_CALL_BOOL(env, napi_set_named_property(env, *result, "code", v));
  NAPI_CALL_BOOL(env, napi_create_string_utf8(env, job->message, NAPI_AUTO_LENGTH, &v));
  NAPI_CALL_BOOL(env, napi_set_named_property(env, *result, "message", v));
  if (job->ok) {
    NAPI_CALL_BOOL(env, napi_create_uint32(env, job->uid, &v));
    NAPI_CALL_BOOL(env, napi_set_named_property(env, *result, "uid", v));
    NAPI_CALL_BOOL(env, napi_create_uint32(env, job->gid, &v));
    NAPI_CALL_BOOL(env, napi_set_named_property(env, *result, "gid", v));
    NAPI_CALL_BOOL(env, napi_create_string_utf8(env, job->home, NAPI_AUTO_LENGTH, &v));
    NAPI_CALL_BOOL(env, napi_set_named_property(env, *result, "home", v));
  }
  return true;
}

static void free_job(PamJob *job) {
  free(job->service);
  free(job->login);
  wipe_free(job->password);
  free(job->rhost);
  free(job->home);
  free(job);
}

static void complete(napi_env env, napi_status status, void *data) {
  PamJob *job = data;
  napi_value result;
  if (status == napi_ok && pam_result(env, job, &result)) {
    napi_resolve_deferred(env, job->deferred, result);
  } else {
    /* The promise always settles: a login waiting on it must not hang. */
    napi_value error = NULL, message = NULL;
    bool pending = false;
    if (napi_is_exception_pending(env, &pending) == napi_ok && pending)
      napi_get_and_clear_last_exception(env, &error);
    if (error == NULL && napi_create_string_utf8(env, "tsftpd_pam: the job could not complete",
                                                 NAPI_AUTO_LENGTH, &message) == napi_ok)
      napi_create_error(env, NULL, message, &error);
    if (error == NULL) napi_get_undefined(env, &error);
    napi_reject_deferred(env, job->deferred, error);
  }
  napi_delete_async_work(env, job->work);
  free_job(job);
}

/* authenticate(service, login, password, rhost): Promise<{ok, step, code, message, uid?, gid?, home?}> */
static napi_value authenticate_fn(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "service, login, password and rhost expected");
    return NULL;
  }
  PamJob *job = calloc(1, sizeof(PamJob));
  if (job == NULL) {
    napi_throw_error(env, "ERR_NO_MEMORY", "out of memory");
    return NULL;
  }
  /* Each copy is whole or refused with an exception (napi-check.h); the first failure stops. */
  if ((job->service = napi_check_string(env, argv[0], "service", MAX_SERVICE)) == NULL ||
      (job->login = napi_check_string(env, argv[1], "login", MAX_LOGIN)) == NULL ||
      (job->password = napi_check_string(env, argv[2], "password", MAX_PASSWORD)) == NULL ||
      (job->rhost = napi_check_string(env, argv[3], "rhost", MAX_HOST)) == NULL) {
    free_job(job);
    return NULL;
  }
  if (job->service[0] == '\0' || job->login[0] == '\0' || strchr(job->service, '/') != NULL) {
    free_job(job);
    napi_throw_range_error(env, "ERR_INVALID_ARG_VALUE", "invalid PAM service or empty login");
    return NULL;
  }
  napi_value promise, name;
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok) {
    napi_check_throw(env, "napi_create_promise");
    free_job(job);
    return NULL;
  }
  if (napi_create_string_utf8(env, "tsftpd_pam", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, execute, complete, job, &job->work) != napi_ok) {
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
      {"authenticate", NULL, authenticate_fn, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  NAPI_CALL(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
