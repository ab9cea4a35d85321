/*
 * restic's sealing (design.rst "Keys, Encryption and MAC") in one native call each way:
 *   sealed = IV(16) || AES-256-CTR(k_enc, IV, plaintext) || Poly1305(r, AES-128(k_mac, IV), ciphertext)
 * Node's Cipher API can only return freshly allocated output; at backup and restore rates the
 * allocation (and the page faults of fresh memory) cost far more than AES itself. Here the
 * output goes into a buffer the caller owns, and opening can decrypt in place.
 *
 * AES comes from the OpenSSL inside the running Node process (statically linked and exported
 * by Node's official and Debian builds; a shared libcrypto that Node loaded elsewhere). The few
 * EVP functions are declared here rather than taken from headers, which some Node
 * distributions do not ship; their signatures are stable across OpenSSL 1.1 and 3.
 *
 * sealInto(keys: Uint8Array(64) = k_enc || k_mac || r, iv: Uint8Array(16), plaintext, out):
 *   out.length must be plaintext.length + 32; out may not overlap plaintext except exactly at
 *   out[16..] (in-place encryption).
 * openInto(keys, sealed, out): verifies the MAC first; false (and nothing written) if it fails;
 *   else writes the plaintext (sealed.length - 32 bytes) to out, which may be sealed[16..].
 */
#include <node_api.h>
#include <stdint.h>
#include <string.h>
#include <stdbool.h>

typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;
typedef struct evp_cipher_st EVP_CIPHER;
typedef struct engine_st ENGINE;
extern EVP_CIPHER_CTX *EVP_CIPHER_CTX_new(void);
extern void EVP_CIPHER_CTX_free(EVP_CIPHER_CTX *ctx);
extern int EVP_CIPHER_CTX_set_padding(EVP_CIPHER_CTX *ctx, int pad);
extern const EVP_CIPHER *EVP_aes_256_ctr(void);
extern const EVP_CIPHER *EVP_aes_128_ecb(void);
extern int EVP_EncryptInit_ex(EVP_CIPHER_CTX *ctx, const EVP_CIPHER *type, ENGINE *impl, const unsigned char *key, const unsigned char *iv);
extern int EVP_EncryptUpdate(EVP_CIPHER_CTX *ctx, unsigned char *out, int *outl, const unsigned char *in, int inl);

void lifeboat_poly1305(uint8_t out[16], const uint8_t *m, size_t len, const uint8_t key[32]); /* poly1305.c */

#define STEP (1 << 30)

static bool aes_ctr(const uint8_t key[32], const uint8_t iv[16], const uint8_t *in, uint8_t *out, size_t len) {
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  if (!ctx) return false;
  bool ok = EVP_EncryptInit_ex(ctx, EVP_aes_256_ctr(), NULL, key, iv) == 1;
  for (size_t done = 0; ok && done < len;) {
    int n = (int)(len - done > STEP ? STEP : len - done), outl = 0;
    ok = EVP_EncryptUpdate(ctx, out + done, &outl, in + done, n) == 1 && outl == n;
    done += (size_t)n;
  }
  EVP_CIPHER_CTX_free(ctx);
  return ok;
}

/* The Poly1305 one-time key: r || AES-128(k_mac, iv). */
static bool poly_key(const uint8_t *keys, const uint8_t iv[16], uint8_t pk[32]) {
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  if (!ctx) return false;
  int outl = 0;
  bool ok = EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), NULL, keys + 32, NULL) == 1 && EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
            EVP_EncryptUpdate(ctx, pk + 16, &outl, iv, 16) == 1 && outl == 16;
  EVP_CIPHER_CTX_free(ctx);
  memcpy(pk, keys + 48, 16);
  return ok;
}

/* A Uint8Array's bytes without copying; 0 if v is not one. Shared with zstd.c. */
int lifeboat_u8(napi_env env, napi_value v, uint8_t **p, size_t *len) {
  bool is;
  napi_typedarray_type type;
  napi_value ab;
  size_t off;
  void *data;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return 0;
  if (napi_get_typedarray_info(env, v, &type, len, &data, &ab, &off) != napi_ok || type != napi_uint8_array) return 0;
  *p = (uint8_t *)data;
  return 1;
}

static napi_value boolean(napi_env env, bool b) {
  napi_value r;
  if (napi_get_boolean(env, b, &r) != napi_ok) return NULL;
  return r;
}

napi_value lifeboat_js_seal_into(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  uint8_t *keys, *iv, *in, *out;
  size_t klen, ivlen, inlen, outlen;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 4 || !lifeboat_u8(env, argv[0], &keys, &klen) || !lifeboat_u8(env, argv[1], &iv, &ivlen) || !lifeboat_u8(env, argv[2], &in, &inlen) ||
      !lifeboat_u8(env, argv[3], &out, &outlen)) {
    napi_throw_type_error(env, NULL, "sealInto: expected (keys, iv, plaintext, out) as Uint8Arrays");
    return NULL;
  }
  if (klen != 64 || ivlen != 16 || outlen != inlen + 32) {
    napi_throw_range_error(env, NULL, "sealInto: keys must be 64 bytes, iv 16, out 32 longer than the plaintext");
    return NULL;
  }
  /* Overlap is only allowed as exact in-place encryption at out + 16. */
  if (in != out + 16 && in < out + outlen && out < in + inlen) {
    napi_throw_range_error(env, NULL, "sealInto: out overlaps the plaintext");
    return NULL;
  }
  uint8_t pk[32];
  memmove(out, iv, 16);
  if (!aes_ctr(keys, out, in, out + 16, inlen) || !poly_key(keys, out, pk)) {
    napi_throw_error(env, "CRYPTO", "sealInto: OpenSSL failed");
    return NULL;
  }
  lifeboat_poly1305(out + 16 + inlen, out + 16, inlen, pk);
  return boolean(env, true);
}

napi_value lifeboat_js_open_into(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  uint8_t *keys, *sealed, *out;
  size_t klen, slen, outlen;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 3 || !lifeboat_u8(env, argv[0], &keys, &klen) || !lifeboat_u8(env, argv[1], &sealed, &slen) || !lifeboat_u8(env, argv[2], &out, &outlen)) {
    napi_throw_type_error(env, NULL, "openInto: expected (keys, sealed, out) as Uint8Arrays");
    return NULL;
  }
  if (klen != 64 || slen < 32 || outlen != slen - 32) {
    napi_throw_range_error(env, NULL, "openInto: keys must be 64 bytes, sealed at least 32, out 32 shorter than sealed");
    return NULL;
  }
  size_t n = slen - 32;
  if (out != sealed + 16 && out < sealed + slen && sealed < out + outlen) {
    napi_throw_range_error(env, NULL, "openInto: out overlaps the sealed bytes");
    return NULL;
  }
  uint8_t iv[16], tag[16], pk[32], want[16];
  memcpy(iv, sealed, 16);
  memcpy(tag, sealed + 16 + n, 16);
  if (!poly_key(keys, iv, pk)) {
    napi_throw_error(env, "CRYPTO", "openInto: OpenSSL failed");
    return NULL;
  }
  lifeboat_poly1305(want, sealed + 16, n, pk);
  uint8_t diff = 0;
  for (int i = 0; i < 16; i++) diff |= (uint8_t)(want[i] ^ tag[i]);
  if (diff != 0) return boolean(env, false);
  if (!aes_ctr(keys, iv, sealed + 16, out, n)) {
    napi_throw_error(env, "CRYPTO", "openInto: OpenSSL failed");
    return NULL;
  }
  return boolean(env, true);
}
