/**
 * Go `encoding/json` output compatibility (restic-format.md §6.5): the string encoding of go1.19
 * and Go's compaction of raw JSON. The matching reader is go-json-reader.ts.
 *
 * Go escapes `<`, `>`, `&`, U+2028 and U+2029; uses `\n`, `\r`, `\t` but `\u00XX` for
 * other controls (go1.19; Go >= 1.22 adds `\b` and `\f`); writes each invalid UTF-8 byte as
 * `\ufffd`; keeps other text as raw UTF-8.
 */
import { decodeRune, RUNE_ERROR } from './go-quote.ts';

const HEX = '0123456789abcdef';

function controlEscape(c: number): string {
  if (c === 0x0a) return '\\n';
  if (c === 0x0d) return '\\r';
  if (c === 0x09) return '\\t';
  if (c === 0x22) return '\\"';
  if (c === 0x5c) return '\\\\';
  return '\\u00' + HEX[c >> 4]! + HEX[c & 15]!; // controls and the HTML characters < > &
}

/** True for ASCII bytes Go's HTML-safe encoder copies as they are. */
function asciiSafe(c: number): boolean {
  return c >= 0x20 && c !== 0x22 && c !== 0x5c && c !== 0x3c && c !== 0x3e && c !== 0x26;
}

/** A JS string encoded as go1.19 `json.Marshal` would encode it, quotes included. */
export function goJsonString(s: string): string {
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let esc: string;
    if (c < 0x80) {
      if (asciiSafe(c)) continue;
      esc = controlEscape(c);
    } else if (c === 0x2028 || c === 0x2029) {
      esc = c === 0x2028 ? '\\u2028' : '\\u2029';
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      i++; // a proper surrogate pair is one valid rune
      continue;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      esc = '\\ufffd'; // an unpaired surrogate is not valid UTF-8 text
    } else {
      continue;
    }
    out += s.slice(start, i) + esc;
    start = i + 1;
  }
  return out + s.slice(start) + '"';
}

/** A Go string holding arbitrary bytes (a symlink target), encoded as `json.Marshal` would. */
export function goJsonBytes(b: Uint8Array): string {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.length);
  let out = '"';
  let start = 0;
  for (let i = 0; i < b.length; ) {
    const c = b[i]!;
    let esc: string;
    let w = 1;
    if (c < 0x80) {
      if (asciiSafe(c)) {
        i++;
        continue;
      }
      esc = controlEscape(c);
    } else {
      const [r, width] = decodeRune(b, i);
      w = width;
      if (r === RUNE_ERROR && w === 1) esc = '\\ufffd';
      else if (r === 0x2028 || r === 0x2029) esc = r === 0x2028 ? '\\u2028' : '\\u2029';
      else {
        i += w;
        continue;
      }
    }
    out += buf.toString('utf8', start, i) + esc;
    i += w;
    start = i;
  }
  return out + buf.toString('utf8', start) + '"';
}

/** A `[]byte` as Go encodes it: standard base64 with padding, `null` for nil. */
export function goJsonBase64(b: Uint8Array | null): string {
  return b === null ? 'null' : '"' + Buffer.from(b.buffer, b.byteOffset, b.length).toString('base64') + '"';
}

/**
 * Go's `json.Compact` with HTML escaping, as applied to a `json.RawMessage` when marshalled:
 * drops insignificant whitespace and escapes raw `<`, `>`, `&`, U+2028 and U+2029 in strings.
 * The input must already be valid JSON.
 */
export function compactJson(b: Uint8Array): string {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.length);
  let out = '';
  let run = 0;
  let inString = false;
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    let rep: string | undefined;
    let skip = 1;
    if (inString) {
      if (c === 0x5c) {
        i++; // keep the escaped character as it is
        continue;
      }
      if (c === 0x22) inString = false;
      else if (c === 0x3c || c === 0x3e || c === 0x26) rep = controlEscape(c);
      else if (c === 0xe2 && b[i + 1] === 0x80 && (b[i + 2] === 0xa8 || b[i + 2] === 0xa9)) {
        rep = b[i + 2] === 0xa8 ? '\\u2028' : '\\u2029';
        skip = 3;
      }
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
      rep = '';
    }
    if (rep === undefined) continue;
    out += buf.toString('utf8', run, i) + rep;
    i += skip - 1;
    run = i + 1;
  }
  return out + buf.toString('utf8', run);
}
