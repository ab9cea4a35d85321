/*
 * zstd through the system's libzstd (Debian: libzstd-dev; NixOS: zstd), into buffers the
 * caller owns. The WebAssembly build we used before copied every input into its own heap and
 * every output out again, and its heap only ever grew; at backup and restore rates those
 * copies and that memory cost more than the compression itself.
 *
 * Contexts are created once per Node environment (the main thread and each worker thread have
 * their own) and freed with it.
 * Sizes and bounds are checked by the caller (src/core/compress/zstd.ts walks the frame
 * headers first and refuses hostile sizes); libzstd bounds-checks every block against the
 * output capacity it is given.
 *
 * zstdCompressInto(src, dst, level): number of bytes written to dst; dst should hold
 *   zstdCompressBound(src.length) bytes.
 * zstdDecompressInto(src, dst): number of bytes written; throws (code ZSTD) on invalid data
 *   or if dst is too small.
 */
#include <node_api.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <zstd.h>

typedef struct {
  ZSTD_CCtx *c;
  ZSTD_DCtx *d;
} contexts;

static void free_contexts(napi_env env, void *data, void *hint) {
  contexts *ctx = data;
  ZSTD_freeCCtx(ctx->c);
  ZSTD_freeDCtx(ctx->d);
  free(ctx);
}

/* This environment's contexts, created on first use; NULL (with an exception pending) on failure. */
static contexts *env_contexts(napi_env env) {
  contexts *ctx = NULL;
  if (napi_get_instance_data(env, (void **)&ctx) == napi_ok && ctx) return ctx;
  ctx = calloc(1, sizeof *ctx);
  if (ctx) ctx->c = ZSTD_createCCtx();
  if (ctx && ctx->c) ctx->d = ZSTD_createDCtx();
  if (!ctx || !ctx->d || napi_set_instance_data(env, ctx, free_contexts, NULL) != napi_ok) {
    if (ctx) {
      ZSTD_freeCCtx(ctx->c);
      ZSTD_freeDCtx(ctx->d);
      free(ctx);
    }
    napi_throw_error(env, "ZSTD", "zstd: cannot allocate a context");
    return NULL;
  }
  return ctx;
}

int lifeboat_u8(napi_env env, napi_value v, uint8_t **p, size_t *len); /* aead.c */

static napi_value number(napi_env env, double n) {
  napi_value r;
  if (napi_create_double(env, n, &r) != napi_ok) return NULL;
  return r;
}

static napi_value zstd_error(napi_env env, const char *what, size_t code) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s", what, ZSTD_getErrorName(code));
  napi_throw_error(env, "ZSTD", msg);
  return NULL;
}

napi_value lifeboat_js_zstd_bound(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int64_t n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1 || napi_get_value_int64(env, argv[0], &n) != napi_ok || n < 0) {
    napi_throw_type_error(env, NULL, "zstdCompressBound: expected a size");
    return NULL;
  }
  return number(env, (double)ZSTD_compressBound((size_t)n));
}

napi_value lifeboat_js_zstd_compress_into(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  uint8_t *src, *dst;
  size_t slen, dlen;
  int32_t level;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 3 || !lifeboat_u8(env, argv[0], &src, &slen) || !lifeboat_u8(env, argv[1], &dst, &dlen) || napi_get_value_int32(env, argv[2], &level) != napi_ok) {
    napi_throw_type_error(env, NULL, "zstdCompressInto: expected (src, dst, level)");
    return NULL;
  }
  contexts *ctx = env_contexts(env);
  if (!ctx) return NULL;
  size_t r = ZSTD_compressCCtx(ctx->c, dst, dlen, src, slen, level);
  if (ZSTD_isError(r)) return zstd_error(env, "zstdCompressInto", r);
  return number(env, (double)r);
}

napi_value lifeboat_js_zstd_decompress_into(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  uint8_t *src, *dst;
  size_t slen, dlen;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 2 || !lifeboat_u8(env, argv[0], &src, &slen) || !lifeboat_u8(env, argv[1], &dst, &dlen)) {
    napi_throw_type_error(env, NULL, "zstdDecompressInto: expected (src, dst)");
    return NULL;
  }
  contexts *ctx = env_contexts(env);
  if (!ctx) return NULL;
  size_t r = ZSTD_decompressDCtx(ctx->d, dst, dlen, src, slen);
  if (ZSTD_isError(r)) return zstd_error(env, "zstdDecompressInto", r);
  return number(env, (double)r);
}
