/*
 * The inner loop of restic's content-defined chunker (see src/core/chunker/chunker.ts, which
 * owns the algorithm, the tables and the state layout). In JavaScript the 64-bit Rabin digest
 * had to be split into two int32 halves and the loop ran at about 250 MB/s, the slowest step
 * of a first backup; here it is one uint64 and a few table loads per byte.
 *
 * chunkScan(tables: BigUint64Array(512), state: BigUint64Array(10), data: Uint8Array,
 *           start: number, end: number, firstCut: number, stop: number, shift: number): number
 *   tables[0..255]   mod[b]   = ((b << k) mod P) | (b << k)
 *   tables[256..511] out[b]   = b * x^(8*64) mod P
 *   state[0]         digest
 *   state[1]         write position in the window (0..63)
 *   state[2..9]      the window, 64 bytes
 * Hashes data[start..stop) (stop <= end), returns the index just past the first byte at or
 * after firstCut whose digest has the low 20 bits zero, or -1; the state is updated either way
 * (on a cut it is left as it was at the cut; the caller resets it).
 */
#include <node_api.h>
#include <stdint.h>
#include <string.h>

#define SPLIT_MASK ((uint64_t)((1u << 20) - 1))
#define WINDOW 64

static int typed(napi_env env, napi_value v, napi_typedarray_type want, void **p, size_t *len) {
  bool is;
  napi_typedarray_type type;
  napi_value ab;
  size_t off;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return 0;
  if (napi_get_typedarray_info(env, v, &type, len, p, &ab, &off) != napi_ok) return 0;
  return type == want;
}

static int num(napi_env env, napi_value v, int64_t *out) {
  return napi_get_value_int64(env, v, out) == napi_ok;
}

napi_value lifeboat_js_chunk_scan(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  void *tp, *sp, *dp;
  size_t tlen, slen, dlen;
  int64_t start, end, first_cut, stop, shift;
  if (argc < 8 || !typed(env, argv[0], napi_biguint64_array, &tp, &tlen) || tlen != 512 ||
      !typed(env, argv[1], napi_biguint64_array, &sp, &slen) || slen != 10 ||
      !typed(env, argv[2], napi_uint8_array, &dp, &dlen) || !num(env, argv[3], &start) ||
      !num(env, argv[4], &end) || !num(env, argv[5], &first_cut) || !num(env, argv[6], &stop) ||
      !num(env, argv[7], &shift)) {
    napi_throw_type_error(env, NULL, "chunkScan: expected (tables, state, data, start, end, firstCut, stop, shift)");
    return NULL;
  }
  if (start < 0 || start > end || end > (int64_t)dlen || stop < start || stop > end || shift < 0 || shift > 55) {
    napi_throw_range_error(env, NULL, "chunkScan: range outside the data");
    return NULL;
  }
  const uint64_t *mod = (const uint64_t *)tp;
  const uint64_t *outt = mod + 256;
  uint64_t *st = (uint64_t *)sp;
  const uint8_t *data = (const uint8_t *)dp;
  uint8_t win[WINDOW];
  memcpy(win, st + 2, WINDOW);
  uint64_t digest = st[0];
  size_t wpos = (size_t)st[1] & (WINDOW - 1);
  const unsigned sh = (unsigned)shift;
  int64_t i = start, cut = -1;

  /* The first 64 bytes push out bytes of earlier calls, still in the window. */
  int64_t wstop = start + WINDOW < stop ? start + WINDOW : stop;
  for (; i < wstop; i++) {
    uint8_t b = data[i];
    uint8_t o = win[(wpos + (size_t)(i - start)) & (WINDOW - 1)];
    digest = ((digest << 8) | b) ^ mod[digest >> sh] ^ outt[o];
    if ((digest & SPLIT_MASK) == 0 && i >= first_cut) {
      cut = ++i;
      break;
    }
  }
  if (cut < 0) {
    for (; i < stop; i++) {
      uint8_t b = data[i];
      digest = ((digest << 8) | b) ^ mod[digest >> sh] ^ outt[data[i - WINDOW]];
      if ((digest & SPLIT_MASK) == 0 && i >= first_cut) {
        cut = ++i;
        break;
      }
    }
  }
  /* Bring the window up to date with the bytes consumed. */
  int64_t n = i - start;
  if (n >= WINDOW) {
    memcpy(win, data + i - WINDOW, WINDOW);
    wpos = 0;
  } else {
    for (int64_t j = 0; j < n; j++) win[(wpos + (size_t)j) & (WINDOW - 1)] = data[start + j];
    wpos = (wpos + (size_t)n) & (WINDOW - 1);
  }
  st[0] = digest;
  st[1] = wpos;
  memcpy(st + 2, win, WINDOW);

  napi_value result;
  if (napi_create_int64(env, cut < 0 ? -1 : cut, &result) != napi_ok) return NULL;
  return result;
}
