/*
 * Poly1305 one-time authenticator (RFC 8439 section 2.5), as restic uses it inside
 * Poly1305-AES. Node's crypto offers Poly1305 only inside the chacha20-poly1305 AEAD, and the
 * pure-JS version was the slowest step of sealing a pack, so this small native one does the
 * arithmetic: h accumulates in three limbs of 44/44/42 bits, products in 128-bit integers,
 * using 2^130 = 5 (mod 2^130 - 5) to fold the high parts back (hence the factor 5 * 4 = 20
 * for limb products that land at 2^132).
 */
#include <node_api.h>
#include <stdint.h>
#include <string.h>
#include <stdio.h>
#include <stdbool.h>

typedef unsigned __int128 u128;

#define M44 ((uint64_t)0xfffffffffff)
#define M42 ((uint64_t)0x3ffffffffff)

static uint64_t le64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8); /* x86-64 and aarch64 Linux are little-endian */
  return v;
}

void lifeboat_poly1305(uint8_t out[16], const uint8_t *m, size_t len, const uint8_t key[32]) {
  uint64_t t0 = le64(key), t1 = le64(key + 8);
  /* clamp r while splitting it into limbs */
  const uint64_t r0 = t0 & 0xffc0fffffffULL;
  const uint64_t r1 = ((t0 >> 44) | (t1 << 20)) & 0xfffffc0ffffULL;
  const uint64_t r2 = (t1 >> 24) & 0x00ffffffc0fULL;
  const uint64_t s1 = r1 * 20, s2 = r2 * 20;
  uint64_t h0 = 0, h1 = 0, h2 = 0, c;
  uint8_t last[16];

  while (len > 0) {
    const uint8_t *blk = m;
    uint64_t hibit = (uint64_t)1 << 40;
    if (len >= 16) {
      m += 16;
      len -= 16;
    } else {
      memset(last, 0, sizeof last);
      memcpy(last, m, len);
      last[len] = 1;
      blk = last;
      hibit = 0;
      len = 0;
    }
    t0 = le64(blk);
    t1 = le64(blk + 8);
    h0 += t0 & M44;
    h1 += ((t0 >> 44) | (t1 << 20)) & M44;
    h2 += ((t1 >> 24) & M42) | hibit;

    u128 d0 = (u128)h0 * r0 + (u128)h1 * s2 + (u128)h2 * s1;
    u128 d1 = (u128)h0 * r1 + (u128)h1 * r0 + (u128)h2 * s2;
    u128 d2 = (u128)h0 * r2 + (u128)h1 * r1 + (u128)h2 * r0;
    c = (uint64_t)(d0 >> 44);
    h0 = (uint64_t)d0 & M44;
    d1 += c;
    c = (uint64_t)(d1 >> 44);
    h1 = (uint64_t)d1 & M44;
    d2 += c;
    c = (uint64_t)(d2 >> 42);
    h2 = (uint64_t)d2 & M42;
    h0 += c * 5;
    c = h0 >> 44;
    h0 &= M44;
    h1 += c;
  }

  /* fully carry h */
  c = h1 >> 44; h1 &= M44; h2 += c;
  c = h2 >> 42; h2 &= M42; h0 += c * 5;
  c = h0 >> 44; h0 &= M44; h1 += c;
  c = h1 >> 44; h1 &= M44; h2 += c;
  c = h2 >> 42; h2 &= M42; h0 += c * 5;
  c = h0 >> 44; h0 &= M44; h1 += c;

  /* g = h - p = h + 5 - 2^130; keep g if it did not go negative (constant time) */
  uint64_t g0 = h0 + 5;
  c = g0 >> 44; g0 &= M44;
  uint64_t g1 = h1 + c;
  c = g1 >> 44; g1 &= M44;
  uint64_t g2 = h2 + c - ((uint64_t)1 << 42);
  uint64_t mask = (g2 >> 63) - 1; /* all ones when g2 >= 0 */
  h0 = (h0 & ~mask) | (g0 & mask);
  h1 = (h1 & ~mask) | (g1 & mask);
  h2 = (h2 & ~mask) | (g2 & mask);

  /* h += s (mod 2^128) */
  t0 = le64(key + 16);
  t1 = le64(key + 24);
  h0 += t0 & M44;
  c = h0 >> 44; h0 &= M44;
  h1 += (((t0 >> 44) | (t1 << 20)) & M44) + c;
  c = h1 >> 44; h1 &= M44;
  h2 += ((t1 >> 24) & M42) + c;
  h2 &= M42;

  uint64_t o0 = h0 | (h1 << 44);
  uint64_t o1 = (h1 >> 20) | (h2 << 24);
  memcpy(out, &o0, 8);
  memcpy(out + 8, &o1, 8);
}

static int get_bytes(napi_env env, napi_value v, const char *what, uint8_t **data, size_t *len) {
  bool is;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) {
    char msg[96];
    snprintf(msg, sizeof msg, "poly1305: %s must be a Uint8Array", what);
    napi_throw_type_error(env, NULL, msg);
    return 0;
  }
  napi_typedarray_type type;
  napi_value ab;
  size_t off;
  void *p;
  if (napi_get_typedarray_info(env, v, &type, len, &p, &ab, &off) != napi_ok) return 0;
  if (type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "poly1305: expected a Uint8Array");
    return 0;
  }
  *data = (uint8_t *)p;
  return 1;
}

/* poly1305(message: Uint8Array, key: Uint8Array(32)): Buffer(16) */
napi_value lifeboat_js_poly1305(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 2) {
    napi_throw_type_error(env, NULL, "poly1305: expected (message, key)");
    return NULL;
  }
  uint8_t *msg, *key;
  size_t mlen, klen;
  if (!get_bytes(env, argv[0], "message", &msg, &mlen)) return NULL;
  if (!get_bytes(env, argv[1], "key", &key, &klen)) return NULL;
  if (klen != 32) {
    napi_throw_range_error(env, NULL, "poly1305: key must be 32 bytes");
    return NULL;
  }
  napi_value result;
  void *out;
  if (napi_create_buffer(env, 16, &out, &result) != napi_ok) return NULL;
  lifeboat_poly1305((uint8_t *)out, msg, mlen, key);
  return result;
}
