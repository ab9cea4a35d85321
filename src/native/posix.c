/*
 * lifeboat_posix: the few POSIX calls Node does not expose, so that a restore carries what
 * `rsync -aAXH` carries. Node's fs.utimes takes a double (microsecond precision at best), and
 * Node has no xattr or mknod at all.
 *
 * Plain C over Node-API (no node-addon-api), so one build runs on every Node from 20 on.
 * Every call is synchronous, like fs.*Sync: each is one short syscall on local metadata.
 *
 * Conventions shared by all functions:
 * - A path or attribute name is a JS string (encoded as UTF-8) or a Buffer/Uint8Array (raw
 *   bytes, so names that are not UTF-8 round-trip). Embedded NUL bytes are rejected (EINVAL).
 * - A failed syscall throws an Error shaped like Node's own fs errors: `code` is the errno name
 *   ('ENOENT', 'ENOTSUP', ...), `errno` the negated number (Node's convention), `syscall` the
 *   call's name and `path` the path argument exactly as given.
 * - Wrong argument types throw a TypeError with code 'ERR_INVALID_ARG_TYPE'.
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>

/* A NUL-terminated copy of a path or name argument. */
typedef struct {
  char *bytes;
  size_t len;
} cstr;

static const char *errno_name(int e) {
  switch (e) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EIO: return "EIO";
    case ENXIO: return "ENXIO";
    case E2BIG: return "E2BIG";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case EXDEV: return "EXDEV";
    case ENODEV: return "ENODEV";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EINVAL: return "EINVAL";
    case ENFILE: return "ENFILE";
    case EMFILE: return "EMFILE";
    case ETXTBSY: return "ETXTBSY";
    case EFBIG: return "EFBIG";
    case ENOSPC: return "ENOSPC";
    case EROFS: return "EROFS";
    case EMLINK: return "EMLINK";
    case ERANGE: return "ERANGE";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ENOSYS: return "ENOSYS";
    case ENOTEMPTY: return "ENOTEMPTY";
    case ELOOP: return "ELOOP";
#ifdef ENODATA
    case ENODATA: return "ENODATA"; /* ENOATTR on Linux */
#endif
#ifdef ENOATTR
#if !defined(ENODATA) || ENOATTR != ENODATA
    case ENOATTR: return "ENOATTR";
#endif
#endif
    case EOVERFLOW: return "EOVERFLOW";
    case ENOTSUP: return "ENOTSUP"; /* == EOPNOTSUPP on Linux; libuv names it ENOTSUP */
#if defined(EOPNOTSUPP) && EOPNOTSUPP != ENOTSUP
    case EOPNOTSUPP: return "EOPNOTSUPP";
#endif
#ifdef EDQUOT
    case EDQUOT: return "EDQUOT";
#endif
#ifdef ESTALE
    case ESTALE: return "ESTALE";
#endif
    case EINTR: return "EINTR";
    default: return "UNKNOWN";
  }
}

/* Throws the pending-exception-safe way: if a JS exception is already pending, keep it. */
static void throw_errno(napi_env env, int e, const char *syscall, napi_value path_value,
                        const cstr *path) {
  char msg[512];
  const char *name = errno_name(e);
  if (path != NULL && path->bytes != NULL) {
    snprintf(msg, sizeof msg, "%s: %s, %s '%s'", name, strerror(e), syscall, path->bytes);
  } else {
    snprintf(msg, sizeof msg, "%s: %s, %s", name, strerror(e), syscall);
  }
  napi_value code, message, error, errno_value, syscall_value;
  if (napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code) != napi_ok) return;
  if (napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message) != napi_ok) return;
  if (napi_create_error(env, code, message, &error) != napi_ok) return;
  if (napi_create_int32(env, -e, &errno_value) == napi_ok)
    napi_set_named_property(env, error, "errno", errno_value);
  if (napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_value) == napi_ok)
    napi_set_named_property(env, error, "syscall", syscall_value);
  if (path_value != NULL) napi_set_named_property(env, error, "path", path_value);
  napi_throw(env, error);
}

/* For the other translation units (readdir.c): throws and returns NULL. */
napi_value lifeboat_throw_errno(napi_env env, int e, const char *syscall, napi_value path) {
  throw_errno(env, e, syscall, path, NULL);
  return NULL;
}

static void throw_type(napi_env env, const char *what) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", what);
}

/* True if a JS exception is pending (some napi call failed and threw). */
static int pending(napi_env env) {
  bool is_pending = false;
  napi_is_exception_pending(env, &is_pending);
  return is_pending;
}

/* Reads the bytes of a Buffer or any Uint8Array-like typed array without copying. */
static int get_bytes(napi_env env, napi_value value, void **data, size_t *len) {
  bool is = false;
  if (napi_is_buffer(env, value, &is) == napi_ok && is) {
    return napi_get_buffer_info(env, value, data, len) == napi_ok;
  }
  if (napi_is_typedarray(env, value, &is) == napi_ok && is) {
    napi_typedarray_type type;
    size_t length;
    napi_value ab;
    size_t offset;
    if (napi_get_typedarray_info(env, value, &type, &length, data, &ab, &offset) != napi_ok)
      return 0;
    if (type != napi_uint8_array && type != napi_int8_array && type != napi_uint8_clamped_array)
      return 0;
    *len = length;
    return 1;
  }
  return 0;
}

/*
 * Copies a string or byte-array argument into a NUL-terminated C string. Returns 0 after
 * throwing on failure. `what` names the argument in messages.
 */
static int get_cstr(napi_env env, napi_value value, const char *what, const char *syscall,
                    cstr *out) {
  out->bytes = NULL;
  out->len = 0;
  napi_valuetype t;
  if (napi_typeof(env, value, &t) != napi_ok) return 0;
  if (t == napi_string) {
    size_t len;
    if (napi_get_value_string_utf8(env, value, NULL, 0, &len) != napi_ok) return 0;
    out->bytes = malloc(len + 1);
    if (out->bytes == NULL) {
      throw_errno(env, ENOMEM, syscall, NULL, NULL);
      return 0;
    }
    if (napi_get_value_string_utf8(env, value, out->bytes, len + 1, &out->len) != napi_ok) {
      free(out->bytes);
      out->bytes = NULL;
      return 0;
    }
  } else {
    void *data = NULL;
    size_t len = 0;
    if (!get_bytes(env, value, &data, &len)) {
      char msg[128];
      snprintf(msg, sizeof msg, "The \"%s\" argument must be a string or a Buffer", what);
      throw_type(env, msg);
      return 0;
    }
    out->bytes = malloc(len + 1);
    if (out->bytes == NULL) {
      throw_errno(env, ENOMEM, syscall, NULL, NULL);
      return 0;
    }
    if (len > 0) memcpy(out->bytes, data, len);
    out->bytes[len] = '\0';
    out->len = len;
  }
  if (strlen(out->bytes) != out->len) {
    free(out->bytes);
    out->bytes = NULL;
    char msg[128];
    snprintf(msg, sizeof msg, "The \"%s\" argument must not contain NUL bytes", what);
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", msg);
    return 0;
  }
  return 1;
}

/* A bigint or an integral number as int64; 0 after throwing. */
static int get_int64(napi_env env, napi_value value, const char *what, int64_t *out) {
  napi_valuetype t;
  if (napi_typeof(env, value, &t) != napi_ok) return 0;
  if (t == napi_bigint) {
    bool lossless = false;
    if (napi_get_value_bigint_int64(env, value, out, &lossless) != napi_ok) return 0;
    if (!lossless) {
      char msg[128];
      snprintf(msg, sizeof msg, "The \"%s\" argument does not fit in 64 bits", what);
      napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
      return 0;
    }
    return 1;
  }
  if (t == napi_number) {
    double d;
    if (napi_get_value_double(env, value, &d) != napi_ok) return 0;
    if (d != d || d < -9007199254740991.0 || d > 9007199254740991.0 || (double)(int64_t)d != d) {
      char msg[128];
      snprintf(msg, sizeof msg, "The \"%s\" argument must be a safe integer", what);
      napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
      return 0;
    }
    *out = (int64_t)d;
    return 1;
  }
  char msg[128];
  snprintf(msg, sizeof msg, "The \"%s\" argument must be a bigint or a number", what);
  throw_type(env, msg);
  return 0;
}

/* A bigint or a non-negative integral number as uint64; 0 after throwing. */
static int get_uint64(napi_env env, napi_value value, const char *what, uint64_t *out) {
  napi_valuetype t;
  if (napi_typeof(env, value, &t) != napi_ok) return 0;
  if (t == napi_bigint) {
    bool lossless = false;
    if (napi_get_value_bigint_uint64(env, value, out, &lossless) != napi_ok) return 0;
    if (!lossless) {
      char msg[128];
      snprintf(msg, sizeof msg, "The \"%s\" argument must be an unsigned 64-bit integer", what);
      napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
      return 0;
    }
    return 1;
  }
  int64_t v;
  if (!get_int64(env, value, what, &v)) return 0;
  if (v < 0) {
    char msg[128];
    snprintf(msg, sizeof msg, "The \"%s\" argument must not be negative", what);
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
    return 0;
  }
  *out = (uint64_t)v;
  return 1;
}

static int get_uint32(napi_env env, napi_value value, const char *what, uint32_t *out) {
  int64_t v;
  if (!get_int64(env, value, what, &v)) return 0;
  if (v < 0 || v > 0xffffffffLL) {
    char msg[128];
    snprintf(msg, sizeof msg, "The \"%s\" argument must be an unsigned 32-bit integer", what);
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
    return 0;
  }
  *out = (uint32_t)v;
  return 1;
}

static int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return 0;
  if (argc < want) {
    char msg[64];
    snprintf(msg, sizeof msg, "Expected %zu arguments, got %zu", want, argc);
    throw_type(env, msg);
    return 0;
  }
  return 1;
}

static napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

/* utimensat(path, atimeSec, atimeNsec, mtimeSec, mtimeNsec, noFollow): void */
static napi_value js_utimensat(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  if (!get_args(env, info, 6, argv)) return NULL;
  int64_t asec, ansec, msec, mnsec;
  bool no_follow = false;
  if (!get_int64(env, argv[1], "atimeSec", &asec)) return NULL;
  if (!get_int64(env, argv[2], "atimeNsec", &ansec)) return NULL;
  if (!get_int64(env, argv[3], "mtimeSec", &msec)) return NULL;
  if (!get_int64(env, argv[4], "mtimeNsec", &mnsec)) return NULL;
  if (napi_get_value_bool(env, argv[5], &no_follow) != napi_ok) {
    throw_type(env, "The \"noFollow\" argument must be a boolean");
    return NULL;
  }
  /* Reject here, not in the kernel: UTIME_NOW/UTIME_OMIT are in-band nsec values. */
  if (ansec < 0 || ansec > 999999999 || mnsec < 0 || mnsec > 999999999) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "Nanoseconds must be in [0, 999999999]");
    return NULL;
  }
  cstr path;
  if (!get_cstr(env, argv[0], "path", "utimensat", &path)) return NULL;
  struct timespec ts[2];
  ts[0].tv_sec = (time_t)asec;
  ts[0].tv_nsec = (long)ansec;
  ts[1].tv_sec = (time_t)msec;
  ts[1].tv_nsec = (long)mnsec;
  if (utimensat(AT_FDCWD, path.bytes, ts, no_follow ? AT_SYMLINK_NOFOLLOW : 0) != 0) {
    throw_errno(env, errno, "utimensat", argv[0], &path);
  }
  free(path.bytes);
  return undefined(env);
}

/* llistxattr(path): Buffer[] (raw names, without their NUL terminators) */
static napi_value js_llistxattr(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  cstr path;
  if (!get_cstr(env, argv[0], "path", "llistxattr", &path)) return NULL;
  char *list = NULL;
  ssize_t size;
  /* The list can grow between the size probe and the read: retry on ERANGE. */
  for (;;) {
    size = llistxattr(path.bytes, NULL, 0);
    if (size < 0) break;
    if (size == 0) break;
    char *grown = realloc(list, (size_t)size);
    if (grown == NULL) {
      errno = ENOMEM;
      size = -1;
      break;
    }
    list = grown;
    size = llistxattr(path.bytes, list, (size_t)size);
    if (size >= 0 || errno != ERANGE) break;
  }
  if (size < 0) {
    throw_errno(env, errno, "llistxattr", argv[0], &path);
    free(list);
    free(path.bytes);
    return NULL;
  }
  napi_value result;
  napi_create_array(env, &result);
  uint32_t index = 0;
  for (ssize_t at = 0; at < size;) {
    size_t len = strnlen(list + at, (size_t)(size - at));
    if (len > 0) {
      napi_value name;
      void *copy;
      if (napi_create_buffer_copy(env, len, list + at, &copy, &name) != napi_ok) break;
      napi_set_element(env, result, index++, name);
    }
    at += (ssize_t)len + 1;
  }
  free(list);
  free(path.bytes);
  return pending(env) ? NULL : result;
}

/* lgetxattr(path, name): Buffer */
static napi_value js_lgetxattr(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv)) return NULL;
  cstr path, name;
  if (!get_cstr(env, argv[0], "path", "lgetxattr", &path)) return NULL;
  if (!get_cstr(env, argv[1], "name", "lgetxattr", &name)) {
    free(path.bytes);
    return NULL;
  }
  char *value = NULL;
  ssize_t size;
  for (;;) {
    size = lgetxattr(path.bytes, name.bytes, NULL, 0);
    if (size <= 0) break;
    char *grown = realloc(value, (size_t)size);
    if (grown == NULL) {
      errno = ENOMEM;
      size = -1;
      break;
    }
    value = grown;
    size = lgetxattr(path.bytes, name.bytes, value, (size_t)size);
    if (size >= 0 || errno != ERANGE) break;
  }
  napi_value result = NULL;
  if (size < 0) {
    throw_errno(env, errno, "lgetxattr", argv[0], &path);
  } else {
    void *copy;
    if (size == 0) {
      napi_create_buffer(env, 0, &copy, &result);
    } else {
      napi_create_buffer_copy(env, (size_t)size, value, &copy, &result);
    }
  }
  free(value);
  free(name.bytes);
  free(path.bytes);
  return result;
}

/* lsetxattr(path, name, value, flags): void; flags 0, 1 (XATTR_CREATE) or 2 (XATTR_REPLACE) */
static napi_value js_lsetxattr(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!get_args(env, info, 4, argv)) return NULL;
  void *data = NULL;
  size_t len = 0;
  if (!get_bytes(env, argv[2], &data, &len)) {
    throw_type(env, "The \"value\" argument must be a Buffer or Uint8Array");
    return NULL;
  }
  uint32_t flags;
  if (!get_uint32(env, argv[3], "flags", &flags)) return NULL;
  cstr path, name;
  if (!get_cstr(env, argv[0], "path", "lsetxattr", &path)) return NULL;
  if (!get_cstr(env, argv[1], "name", "lsetxattr", &name)) {
    free(path.bytes);
    return NULL;
  }
  /* An empty value is legal; pass a valid pointer anyway. */
  if (lsetxattr(path.bytes, name.bytes, len > 0 ? data : "", len, (int)flags) != 0) {
    throw_errno(env, errno, "lsetxattr", argv[0], &path);
  }
  free(name.bytes);
  free(path.bytes);
  return undefined(env);
}

/* lremovexattr(path, name): void */
static napi_value js_lremovexattr(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv)) return NULL;
  cstr path, name;
  if (!get_cstr(env, argv[0], "path", "lremovexattr", &path)) return NULL;
  if (!get_cstr(env, argv[1], "name", "lremovexattr", &name)) {
    free(path.bytes);
    return NULL;
  }
  if (lremovexattr(path.bytes, name.bytes) != 0) {
    throw_errno(env, errno, "lremovexattr", argv[0], &path);
  }
  free(name.bytes);
  free(path.bytes);
  return undefined(env);
}

/* mknod(path, mode, dev): void; mode carries the file type (S_IFIFO, S_IFCHR, S_IFBLK, ...) */
static napi_value js_mknod(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!get_args(env, info, 3, argv)) return NULL;
  uint32_t mode;
  uint64_t dev;
  if (!get_uint32(env, argv[1], "mode", &mode)) return NULL;
  if (!get_uint64(env, argv[2], "dev", &dev)) return NULL;
  cstr path;
  if (!get_cstr(env, argv[0], "path", "mknod", &path)) return NULL;
  if (mknod(path.bytes, (mode_t)mode, (dev_t)dev) != 0) {
    throw_errno(env, errno, "mknod", argv[0], &path);
  }
  free(path.bytes);
  return undefined(env);
}

/* makedev(major, minor): bigint */
static napi_value js_makedev(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv)) return NULL;
  uint32_t maj, min;
  if (!get_uint32(env, argv[0], "major", &maj)) return NULL;
  if (!get_uint32(env, argv[1], "minor", &min)) return NULL;
  napi_value result;
  if (napi_create_bigint_uint64(env, (uint64_t)makedev(maj, min), &result) != napi_ok) return NULL;
  return result;
}

/* major(dev): number */
static napi_value js_major(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  uint64_t dev;
  if (!get_uint64(env, argv[0], "dev", &dev)) return NULL;
  napi_value result;
  if (napi_create_uint32(env, (uint32_t)major((dev_t)dev), &result) != napi_ok) return NULL;
  return result;
}

/* minor(dev): number */
static napi_value js_minor(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  uint64_t dev;
  if (!get_uint64(env, argv[0], "dev", &dev)) return NULL;
  napi_value result;
  if (napi_create_uint32(env, (uint32_t)minor((dev_t)dev), &result) != napi_ok) return NULL;
  return result;
}

napi_value lifeboat_js_poly1305(napi_env env, napi_callback_info info); /* poly1305.c */
napi_value lifeboat_js_chunk_scan(napi_env env, napi_callback_info info); /* chunker.c */
napi_value lifeboat_js_scan_dir(napi_env env, napi_callback_info info); /* scandir.c */
napi_value lifeboat_js_seal_into(napi_env env, napi_callback_info info); /* aead.c */
napi_value lifeboat_js_open_into(napi_env env, napi_callback_info info); /* aead.c */
napi_value lifeboat_js_zstd_bound(napi_env env, napi_callback_info info); /* zstd.c */
napi_value lifeboat_js_zstd_compress_into(napi_env env, napi_callback_info info); /* zstd.c */
napi_value lifeboat_js_zstd_decompress_into(napi_env env, napi_callback_info info); /* zstd.c */

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"utimensat", NULL, js_utimensat, NULL, NULL, NULL, napi_enumerable, NULL},
      {"llistxattr", NULL, js_llistxattr, NULL, NULL, NULL, napi_enumerable, NULL},
      {"lgetxattr", NULL, js_lgetxattr, NULL, NULL, NULL, napi_enumerable, NULL},
      {"lsetxattr", NULL, js_lsetxattr, NULL, NULL, NULL, napi_enumerable, NULL},
      {"lremovexattr", NULL, js_lremovexattr, NULL, NULL, NULL, napi_enumerable, NULL},
      {"mknod", NULL, js_mknod, NULL, NULL, NULL, napi_enumerable, NULL},
      {"makedev", NULL, js_makedev, NULL, NULL, NULL, napi_enumerable, NULL},
      {"major", NULL, js_major, NULL, NULL, NULL, napi_enumerable, NULL},
      {"minor", NULL, js_minor, NULL, NULL, NULL, napi_enumerable, NULL},
      {"poly1305", NULL, lifeboat_js_poly1305, NULL, NULL, NULL, napi_enumerable, NULL},
      {"chunkScan", NULL, lifeboat_js_chunk_scan, NULL, NULL, NULL, napi_enumerable, NULL},
      {"scanDir", NULL, lifeboat_js_scan_dir, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sealInto", NULL, lifeboat_js_seal_into, NULL, NULL, NULL, napi_enumerable, NULL},
      {"openInto", NULL, lifeboat_js_open_into, NULL, NULL, NULL, napi_enumerable, NULL},
      {"zstdCompressBound", NULL, lifeboat_js_zstd_bound, NULL, NULL, NULL, napi_enumerable, NULL},
      {"zstdCompressInto", NULL, lifeboat_js_zstd_compress_into, NULL, NULL, NULL, napi_enumerable, NULL},
      {"zstdDecompressInto", NULL, lifeboat_js_zstd_decompress_into, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok)
    return NULL;
  return exports;
}
