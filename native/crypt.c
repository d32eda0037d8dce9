/*
 * tsftpd_crypt: the system's crypt(3) (libxcrypt on Debian) exposed to Node.js.
 *
 * Guarantees: the hash is computed on libuv's thread pool (never on the event loop), the
 * comparison is constant-time, and the copy of the password held here is zeroed before it
 * is freed. Whatever schemes the system's libcrypt knows are accepted: yescrypt ($y$),
 * gost-yescrypt ($gy$), scrypt ($7$), bcrypt ($2b$/$2y$/$2a$), SHA-512/256 crypt ($6$/$5$),
 * MD5 crypt ($1$), sha1crypt and DES. When libsodium (libsodium.so.23) is installed, Argon2
 * strings are verified and made by libsodium itself — the library Pure-FTPd uses, with its AVX2
 * code path — so pure-pw's hashes cost the same here as in Pure-FTPd. libsodium is opened with
 * dlopen(3) when the addon loads, never linked: the same binary (the prebuilt one shipped in the
 * npm package included) works on a machine without it, and then exports `sodiumError` instead of
 * the two sodium functions (the JavaScript side uses the `argon2` package).
 * No cryptography is implemented in this file.
 *
 * Inputs: every N-API call is checked (napi-check.h). A password or hash that is not a string, is
 * longer than MAX_CRYPT_STRING bytes or holds a NUL byte is never truncated: verification answers false
 * and hashing null, as for any other unusable input. Numbers (opslimit, memlimit, rounds) must be
 * integers in range, and a gensalt prefix that is not a usable string throws instead of silently
 * becoming the library's default scheme.
 */
#define _GNU_SOURCE
#include <crypt.h>
#include <dlfcn.h>
#include <node_api.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libsodium's entry points used here (their prototypes, from sodium/crypto_pwhash.h). */
typedef int (*sodium_init_fn)(void);
typedef size_t (*sodium_size_fn)(void);
typedef int (*sodium_int_fn)(void);
typedef int (*pwhash_str_verify_fn)(const char *str, const char *passwd, unsigned long long passwdlen);
typedef int (*pwhash_str_alg_fn)(char *out, const char *passwd, unsigned long long passwdlen,
                                 unsigned long long opslimit, size_t memlimit, int alg);

static struct {
  pwhash_str_verify_fn verify; /* NULL: libsodium is not available (see sodium_error) */
  pwhash_str_alg_fn hash;
  size_t strbytes; /* crypto_pwhash_STRBYTES */
  int argon2id13;  /* crypto_pwhash_ALG_ARGON2ID13 */
} sodium;
static char sodium_error[256];

/* Opens libsodium once, at module load; on failure the reason is kept in sodium_error. */
static void load_sodium(void) {
  static const char *const names[] = {"libsodium.so.23", "libsodium.so"};
  void *lib = NULL;
  for (size_t i = 0; i < sizeof names / sizeof names[0] && lib == NULL; i++) {
    lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    /* The first name's error is the useful one (the soname a Debian libsodium23 provides). */
    const char *why = lib == NULL ? dlerror() : NULL;
    if (i == 0 && why != NULL) snprintf(sodium_error, sizeof sodium_error, "%s", why);
  }
  if (lib == NULL) return;
  sodium_init_fn init = (sodium_init_fn)dlsym(lib, "sodium_init");
  sodium_size_fn strbytes = (sodium_size_fn)dlsym(lib, "crypto_pwhash_strbytes");
  sodium_int_fn alg = (sodium_int_fn)dlsym(lib, "crypto_pwhash_alg_argon2id13");
  pwhash_str_verify_fn verify = (pwhash_str_verify_fn)dlsym(lib, "crypto_pwhash_str_verify");
  pwhash_str_alg_fn hash = (pwhash_str_alg_fn)dlsym(lib, "crypto_pwhash_str_alg");
  if (init == NULL || strbytes == NULL || alg == NULL || verify == NULL || hash == NULL) {
    snprintf(sodium_error, sizeof sodium_error, "libsodium is older than 1.0.13 (no crypto_pwhash_str_alg)");
    dlclose(lib);
    return;
  }
  if (init() < 0) {
    snprintf(sodium_error, sizeof sodium_error, "sodium_init() failed");
    dlclose(lib);
    return;
  }
  /* Kept open for the life of the process: the function pointers point into it. */
  sodium.strbytes = strbytes();
  sodium.argon2id13 = alg();
  sodium.verify = verify;
  sodium.hash = hash;
}

#include "napi-check.h"

/* Longest password or hash accepted (bytes). */
#define MAX_CRYPT_STRING 4096

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  char *password;
  char *setting;
  int verify;   /* 1: compare with setting; 0: return the crypt() output; 2/3: libsodium verify/hash */
  unsigned long long opslimit; /* mode 3 */
  size_t memlimit;             /* mode 3 */
  int ok;       /* verify result */
  char *output; /* crypt() output when verify == 0 */
} CryptJob;

static void wipe_free(char *s) {
  if (s == NULL) return;
  explicit_bzero(s, strlen(s));
  free(s);
}

static int const_time_equal(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  size_t n = la > lb ? la : lb;
  unsigned char diff = (unsigned char)(la != lb);
  for (size_t i = 0; i < n; i++) {
    unsigned char ca = i < la ? (unsigned char)a[i] : 0;
    unsigned char cb = i < lb ? (unsigned char)b[i] : 0;
    diff |= (unsigned char)(ca ^ cb);
  }
  return diff == 0;
}

static void execute(napi_env env, void *data) {
  (void)env;
  CryptJob *job = data;
  if (job->verify == 2) {
    job->ok = sodium.verify(job->setting, job->password, strlen(job->password)) == 0;
    return;
  }
  if (job->verify == 3) {
    char *out = calloc(1, sodium.strbytes);
    if (out == NULL) return;
    if (sodium.hash(out, job->password, strlen(job->password), job->opslimit, job->memlimit,
                    sodium.argon2id13) == 0 &&
        memchr(out, '\0', sodium.strbytes) != NULL)
      job->output = strdup(out);
    free(out);
    return;
  }
  struct crypt_data *cd = calloc(1, sizeof(struct crypt_data));
  if (cd == NULL) return;
  char *out = crypt_r(job->password, job->setting, cd);
  /* libxcrypt returns a string starting with '*' on failure (never a valid hash). */
  if (out != NULL && out[0] != '*') {
    if (job->verify) {
      job->ok = const_time_equal(out, job->setting);
    } else {
      job->output = strdup(out);
    }
  }
  explicit_bzero(cd, sizeof(struct crypt_data));
  free(cd);
}

static void complete(napi_env env, napi_status status, void *data) {
  CryptJob *job = data;
  napi_value result = NULL;
  napi_status made = napi_generic_failure;
  if (status == napi_ok) {
    if (job->verify == 1 || job->verify == 2)
      made = napi_get_boolean(env, job->ok, &result);
    else if (job->output != NULL)
      made = napi_create_string_utf8(env, job->output, NAPI_AUTO_LENGTH, &result);
    else
      made = napi_get_null(env, &result);
  }
  if (made == napi_ok) {
    napi_resolve_deferred(env, job->deferred, result);
  } else {
    /* The promise always settles: a login waiting on it must not hang. */
    napi_value message = NULL, error = NULL;
    if (napi_create_string_utf8(env, "tsftpd_crypt: the job could not complete", NAPI_AUTO_LENGTH, &message) ==
        napi_ok)
      napi_create_error(env, NULL, message, &error);
    if (error == NULL) napi_get_undefined(env, &error);
    napi_reject_deferred(env, job->deferred, error);
  }
  napi_delete_async_work(env, job->work);
  wipe_free(job->password);
  wipe_free(job->setting);
  free(job->output);
  free(job);
}

/* Outcome of reading a string argument. */
typedef enum { STRING_OK, STRING_UNUSABLE, STRING_FAILED } StringRead;

/*
 * Copies a JS string argument: STRING_UNUSABLE (not a string, longer than MAX_CRYPT_STRING bytes, or with
 * a NUL byte: refused, never truncated) and STRING_FAILED (an N-API failure, thrown) leave *out NULL.
 */
static StringRead get_string(napi_env env, napi_value v, char **out) {
  *out = NULL;
  napi_valuetype type;
  if (napi_typeof(env, v, &type) != napi_ok) {
    napi_check_throw(env, "napi_typeof");
    return STRING_FAILED;
  }
  if (type != napi_string) return STRING_UNUSABLE;
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
    napi_check_throw(env, "napi_get_value_string_utf8");
    return STRING_FAILED;
  }
  if (len > MAX_CRYPT_STRING) return STRING_UNUSABLE;
  char *buf = malloc(len + 1);
  if (buf == NULL) {
    napi_throw_error(env, "ERR_NO_MEMORY", "out of memory");
    return STRING_FAILED;
  }
  size_t copied = 0;
  if (napi_get_value_string_utf8(env, v, buf, len + 1, &copied) != napi_ok || copied != len) {
    explicit_bzero(buf, len + 1);
    free(buf);
    napi_check_throw(env, "napi_get_value_string_utf8");
    return STRING_FAILED;
  }
  if (memchr(buf, '\0', len) != NULL) { /* embedded NUL: refuse rather than truncate */
    explicit_bzero(buf, len + 1);
    free(buf);
    return STRING_UNUSABLE;
  }
  *out = buf;
  return STRING_OK;
}

static void free_job(CryptJob *job) {
  wipe_free(job->password);
  wipe_free(job->setting);
  free(job);
}

static napi_value start(napi_env env, napi_callback_info info, int verify) {
  size_t argc = 4;
  napi_value argv[4];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "two string arguments expected");
    return NULL;
  }
  int64_t ops = 0, mem = 0;
  if (verify == 3) {
    if (argc < 4) {
      napi_throw_type_error(env, "ERR_MISSING_ARGS", "sodiumHash(password, '', opslimit, memlimit) expected");
      return NULL;
    }
    if (!napi_check_integer(env, argv[2], "opslimit", 1, UINT32_MAX, &ops) ||
        !napi_check_integer(env, argv[3], "memlimit", 1, (int64_t)1 << 42, &mem))
      return NULL;
  }
  CryptJob *job = calloc(1, sizeof(CryptJob));
  if (job == NULL) {
    napi_throw_error(env, "ERR_NO_MEMORY", "out of memory");
    return NULL;
  }
  job->verify = verify;
  job->opslimit = (unsigned long long)ops;
  job->memlimit = (size_t)mem;
  StringRead a = get_string(env, argv[0], &job->password);
  StringRead b = a == STRING_FAILED ? STRING_FAILED : get_string(env, argv[1], &job->setting);
  if (a == STRING_FAILED || b == STRING_FAILED) {
    free_job(job);
    return NULL;
  }
  napi_value promise;
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok) {
    free_job(job);
    napi_check_throw(env, "napi_create_promise");
    return NULL;
  }
  if (a == STRING_UNUSABLE || b == STRING_UNUSABLE) {
    /* Unusable input never matches and hashes to nothing (see the file note). */
    napi_value r;
    napi_status made = (verify == 1 || verify == 2) ? napi_get_boolean(env, 0, &r) : napi_get_null(env, &r);
    if (made != napi_ok || napi_resolve_deferred(env, job->deferred, r) != napi_ok) {
      free_job(job);
      napi_check_throw(env, "napi_resolve_deferred");
      return NULL;
    }
    free_job(job);
    return promise;
  }
  napi_value name;
  if (napi_create_string_utf8(env, "tsftpd_crypt", NAPI_AUTO_LENGTH, &name) != napi_ok ||
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

/* verify(password, hash): Promise<boolean> */
static napi_value verify_fn(napi_env env, napi_callback_info info) { return start(env, info, 1); }
/* crypt(password, setting): Promise<string | null> */
static napi_value crypt_fn(napi_env env, napi_callback_info info) { return start(env, info, 0); }

/* sodiumVerify(password, argon2String): Promise<boolean> — libsodium's crypto_pwhash_str_verify */
static napi_value sodium_verify_fn(napi_env env, napi_callback_info info) { return start(env, info, 2); }
/* sodiumHash(password, '', opslimit, memlimitBytes): Promise<string | null> — Argon2id, like pure-pw */
static napi_value sodium_hash_fn(napi_env env, napi_callback_info info) { return start(env, info, 3); }

/* gensalt(prefix, rounds): string | null — a fresh setting from the system's entropy source */
static napi_value gensalt_fn(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "gensalt(prefix, rounds) expected");
    return NULL;
  }
  /* A prefix that is not a usable string must not become the library's default scheme (NULL). */
  char *prefix = napi_check_string(env, argv[0], "prefix", 64);
  if (prefix == NULL) return NULL;
  int64_t rounds = 0;
  if (argc > 1) {
    napi_valuetype type;
    if (napi_typeof(env, argv[1], &type) != napi_ok) {
      free(prefix);
      napi_check_throw(env, "napi_typeof");
      return NULL;
    }
    if (type != napi_undefined && !napi_check_integer(env, argv[1], "rounds", 0, UINT32_MAX, &rounds)) {
      free(prefix);
      return NULL;
    }
  }
  char out[CRYPT_GENSALT_OUTPUT_SIZE];
  char *s = crypt_gensalt_rn(prefix, (unsigned long)rounds, NULL, 0, out, sizeof out);
  free(prefix);
  napi_value result;
  if (s == NULL)
    NAPI_CALL(env, napi_get_null(env, &result));
  else
    NAPI_CALL(env, napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &result));
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"verify", NULL, verify_fn, NULL, NULL, NULL, napi_enumerable, NULL},
      {"crypt", NULL, crypt_fn, NULL, NULL, NULL, napi_enumerable, NULL},
      {"gensalt", NULL, gensalt_fn, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  NAPI_CALL(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  /* Module init runs once per process and once per worker thread; libsodium is looked up once. */
  static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
  pthread_once(&sodium_once, load_sodium);
  if (sodium.verify != NULL) {
    napi_property_descriptor sodium_props[] = {
        {"sodiumVerify", NULL, sodium_verify_fn, NULL, NULL, NULL, napi_enumerable, NULL},
        {"sodiumHash", NULL, sodium_hash_fn, NULL, NULL, NULL, napi_enumerable, NULL},
    };
    NAPI_CALL(env, napi_define_properties(env, exports, 2, sodium_props));
  } else {
    /* sodiumError: why libsodium is not used (the JavaScript side then uses the argon2 package). */
    napi_value why;
    NAPI_CALL(env, napi_create_string_utf8(env, sodium_error, NAPI_AUTO_LENGTH, &why));
    NAPI_CALL(env, napi_set_named_property(env, exports, "sodiumError", why));
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
