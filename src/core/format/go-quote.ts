/**
 * Go `strconv.Quote` / `strconv.Unquote` for tree node names (restic-format.md §6.3).
 *
 * restic stores a node name as `strconv.Quote(name)` with the outer quotes cut off, then JSON-
 * escapes that text. Names are byte strings, not necessarily UTF-8, so both directions work on
 * bytes: `goQuote` turns raw name bytes into the quoted text, `goUnquote` turns the text back.
 *
 * Byte-exactness matters only for dedup against restic-made trees (the tree id is a hash of the
 * bytes); readability by restic needs just the escaping of `\`, `"`, controls and invalid bytes.
 *
 * Which runes count as printable (Go's `IsPrint`: letters, marks, numbers, punctuation, symbols
 * and the ASCII space) depends on the Unicode tables compiled into the Go release. restic 0.14
 * was built with go1.19 (Unicode 13.0); we use a table measured from that restic binary
 * (go-print-table.ts) rather than the JS engine's Unicode properties, which on Node 20 are
 * Unicode 17 and would keep ~16k newer runes (recent emoji, new scripts) literal where restic
 * escapes them. A restic built with Go >= 1.21 (Unicode 15) leaves some of those literal, so
 * trees naming such runes match 0.14's bytes, not necessarily every later release's.
 * Either spelling unquotes to the same bytes, so this affects dedup only, never readability.
 */
import { malformedError } from '../errors.ts';
import { decodePrintTable, GO119_PRINT_TABLE } from './go-print-table.ts';

/** Go's `utf8.RuneError`, also what every invalid byte decodes to. */
export const RUNE_ERROR = 0xfffd;

/**
 * Decodes the rune starting at `b[i]` the way Go's `utf8.DecodeRune` does: rejects overlong
 * forms, surrogates and values above U+10FFFF. Returns `[rune, width]`; an invalid or truncated
 * sequence yields `[RUNE_ERROR, 1]`, so a caller advancing by `width` visits every bad byte.
 */
export function decodeRune(b: Uint8Array, i: number): [number, number] {
  const b0 = b[i];
  if (b0 === undefined) return [RUNE_ERROR, 0];
  if (b0 < 0x80) return [b0, 1];
  const bad: [number, number] = [RUNE_ERROR, 1];
  if (b0 < 0xc2 || b0 > 0xf4) return bad;
  const b1 = b[i + 1];
  if (b1 === undefined) return bad;
  // Second-byte ranges per lead byte (Go's acceptRanges): they exclude overlongs and surrogates.
  let lo = 0x80;
  let hi = 0xbf;
  if (b0 === 0xe0) lo = 0xa0;
  else if (b0 === 0xed) hi = 0x9f;
  else if (b0 === 0xf0) lo = 0x90;
  else if (b0 === 0xf4) hi = 0x8f;
  if (b1 < lo || b1 > hi) return bad;
  if (b0 < 0xe0) return [((b0 & 0x1f) << 6) | (b1 & 0x3f), 2];
  const b2 = b[i + 2];
  if (b2 === undefined || (b2 & 0xc0) !== 0x80) return bad;
  if (b0 < 0xf0) return [((b0 & 0x0f) << 12) | ((b1 & 0x3f) << 6) | (b2 & 0x3f), 3];
  const b3 = b[i + 3];
  if (b3 === undefined || (b3 & 0xc0) !== 0x80) return bad;
  return [((b0 & 0x07) << 18) | ((b1 & 0x3f) << 12) | ((b2 & 0x3f) << 6) | (b3 & 0x3f), 4];
}

/** True if `b` is valid UTF-8 by Go's rules (`utf8.Valid`). */
export function isValidUtf8(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; ) {
    if (b[i]! < 0x80) {
      i++;
      continue;
    }
    const [r, w] = decodeRune(b, i);
    if (r === RUNE_ERROR && w === 1) return false;
    i += w;
  }
  return true;
}

const PRINT_RANGES = decodePrintTable(GO119_PRINT_TABLE);

/**
 * go1.19's `strconv.IsPrint`. Latin-1 uses Go's own fast path; above it, a binary search in the
 * measured range table.
 */
export function isGoPrint(r: number): boolean {
  if (r <= 0xff) return (r >= 0x20 && r <= 0x7e) || (r >= 0xa1 && r !== 0xad);
  let lo = 0;
  let hi = PRINT_RANGES.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (r < PRINT_RANGES[2 * mid]!) hi = mid - 1;
    else if (r > PRINT_RANGES[2 * mid + 1]!) lo = mid + 1;
    else return true;
  }
  return false;
}

const SHORT_ESCAPES: Readonly<Record<number, string>> = {
  0x07: '\\a',
  0x08: '\\b',
  0x0c: '\\f',
  0x0a: '\\n',
  0x0d: '\\r',
  0x09: '\\t',
  0x0b: '\\v',
};

function hex(n: number, digits: number): string {
  return n.toString(16).padStart(digits, '0');
}

/** `strconv.Quote(string(name))` without the surrounding double quotes. */
export function goQuote(name: Uint8Array): string {
  let out = '';
  let runStart = 0; // start of a run of bytes that are copied literally
  const flush = (end: number): void => {
    if (end > runStart) out += Buffer.from(name.buffer, name.byteOffset + runStart, end - runStart).toString('utf8');
  };
  for (let i = 0; i < name.length; ) {
    const b = name[i]!;
    if (b < 0x80) {
      if (b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c) {
        i++;
        continue;
      }
      flush(i);
      if (b === 0x22 || b === 0x5c) out += '\\' + String.fromCharCode(b);
      else out += SHORT_ESCAPES[b] ?? '\\x' + hex(b, 2);
      runStart = ++i;
      continue;
    }
    const [r, w] = decodeRune(name, i);
    if (w > 1 && isGoPrint(r)) {
      i += w;
      continue;
    }
    flush(i);
    if (w === 1) out += '\\x' + hex(b, 2);
    else if (r < 0x10000) out += '\\u' + hex(r, 4);
    else out += '\\U' + hex(r, 8);
    runStart = i += w;
  }
  flush(name.length);
  return out;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

const SIMPLE_UNESCAPES: Readonly<Record<number, number>> = {
  0x61: 0x07, // a
  0x62: 0x08, // b
  0x66: 0x0c, // f
  0x6e: 0x0a, // n
  0x72: 0x0d, // r
  0x74: 0x09, // t
  0x76: 0x0b, // v
  0x5c: 0x5c, // backslash
  0x22: 0x22, // double quote
};

/**
 * `strconv.Unquote('"' + text + '"')`, returning raw bytes. Like Go it rejects a bare `"`, a bare
 * newline, unknown escapes, `\'` (only legal in single-quoted Go literals), octal above `\377`,
 * and `\u`/`\U` escapes naming a surrogate or a value above U+10FFFF.
 */
export function goUnquote(text: string): Buffer {
  const src = Buffer.from(text, 'utf8');
  if (!src.includes(0x5c) && !src.includes(0x22) && !src.includes(0x0a)) return src;
  const out = Buffer.allocUnsafe(src.length); // unquoting never grows the text
  let n = 0;
  const fail = (why: string): never => {
    throw malformedError(`invalid Go-quoted string ${JSON.stringify(text.slice(0, 80))}: ${why}`);
  };
  for (let i = 0; i < src.length; ) {
    const c = src[i]!;
    if (c === 0x22) fail('unescaped double quote');
    if (c === 0x0a) fail('unescaped newline');
    if (c !== 0x5c) {
      out[n++] = c;
      i++;
      continue;
    }
    const e = src[i + 1];
    if (e === undefined) fail('trailing backslash');
    i += 2;
    const simple = SIMPLE_UNESCAPES[e!];
    if (simple !== undefined) {
      out[n++] = simple;
    } else if (e === 0x78 || e === 0x75 || e === 0x55) {
      const digits = e === 0x78 ? 2 : e === 0x75 ? 4 : 8;
      if (i + digits > src.length) fail('short hex escape');
      let v = 0;
      for (let j = 0; j < digits; j++) {
        const h = hexValue(src[i + j]!);
        if (h < 0) fail('bad hex digit in escape');
        v = v * 16 + h;
      }
      i += digits;
      if (e === 0x78) {
        out[n++] = v; // a single byte, possibly not UTF-8
      } else {
        if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) fail(`escape names an invalid rune U+${hex(v, 4)}`);
        n += out.write(String.fromCodePoint(v), n, 'utf8');
      }
    } else if (e! >= 0x30 && e! <= 0x37) {
      if (i + 2 > src.length) fail('short octal escape');
      let v = e! - 0x30;
      for (let j = 0; j < 2; j++) {
        const d = src[i + j]! - 0x30;
        if (d < 0 || d > 7) fail('bad octal digit in escape');
        v = v * 8 + d;
      }
      i += 2;
      if (v > 255) fail('octal escape above \\377');
      out[n++] = v;
    } else {
      fail(`unknown escape \\${String.fromCharCode(e!)}`);
    }
  }
  return out.subarray(0, n);
}
