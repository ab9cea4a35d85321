/**
 * A strict JSON reader with Go `encoding/json` decoding semantics (restic-format.md §6.5), for
 * trees and snapshots.
 *
 * `JSON.parse` loses uint64 precision, so this parser keeps every number as its source text
 * (`JsonNumber.raw`) and the typed readers convert with Go's rules: unsigned integer fields take
 * only plain digits, `null` leaves a field at its zero value, a wrong type is an error. Object
 * keys match case-insensitively, the last duplicate winning, as Go matches struct fields.
 * Strings decode like Go: invalid UTF-8 bytes and unpaired surrogate escapes become U+FFFD.
 * Every failure is a MALFORMED LifeboatError; nesting is capped so hostile input cannot blow
 * the stack.
 */
import { malformedError } from '../errors.ts';
import { compactJson } from './go-json.ts';
import { decodeRune, RUNE_ERROR } from './go-quote.ts';

/** A JSON number kept as its exact source text. */
export class JsonNumber {
  constructor(readonly raw: string) {}
}

/** One member of a JSON object, with the source span of its value. */
export interface JsonMember {
  readonly key: string;
  readonly value: JsonValue;
  readonly start: number;
  readonly end: number;
}

/** A JSON object with Go's field matching: case-insensitive keys, last duplicate wins. */
export class JsonObject {
  private folded: Map<string, JsonMember> | undefined;
  constructor(
    readonly members: readonly JsonMember[],
    readonly source: Uint8Array,
  ) {}

  /** The member Go would store into a struct field tagged `name` (lowercase ASCII). */
  member(name: string): JsonMember | undefined {
    if (this.folded === undefined) {
      this.folded = new Map();
      // toLowerCase maps U+212A KELVIN SIGN to k; Go also folds U+017F LONG S to s.
      for (const m of this.members) this.folded.set(m.key.toLowerCase().replace(/\u017f/g, 's'), m);
    }
    return this.folded.get(name);
  }

  get(name: string): JsonValue | undefined {
    return this.member(name)?.value;
  }

  /** The value's source text, compacted as Go compacts a `json.RawMessage` on output. */
  rawText(m: JsonMember): string {
    return compactJson(this.source.subarray(m.start, m.end));
  }
}

export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | JsonObject;

const MAX_DEPTH = 256;

class Parser {
  pos = 0;
  private depth = 0;
  constructor(private readonly b: Uint8Array) {}

  fail(why: string): never {
    throw malformedError(`invalid JSON at byte ${this.pos}: ${why}`);
  }

  ws(): void {
    const b = this.b;
    while (this.pos < b.length) {
      const c = b[this.pos];
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      this.pos++;
    }
  }

  value(): JsonValue {
    this.ws();
    const c = this.b[this.pos];
    if (c === 0x7b) return this.object();
    if (c === 0x5b) return this.array();
    if (c === 0x22) return this.string();
    if (c === 0x2d || (c !== undefined && c >= 0x30 && c <= 0x39)) return this.number();
    if (this.literal('true')) return true;
    if (this.literal('false')) return false;
    if (this.literal('null')) return null;
    return this.fail(c === undefined ? 'unexpected end of input' : 'unexpected character');
  }

  private literal(word: string): boolean {
    for (let i = 0; i < word.length; i++) if (this.b[this.pos + i] !== word.charCodeAt(i)) return false;
    this.pos += word.length;
    return true;
  }

  private enter(): void {
    if (++this.depth > MAX_DEPTH) this.fail('nested too deeply');
    this.pos++;
  }

  private object(): JsonObject {
    this.enter();
    const members: JsonMember[] = [];
    this.ws();
    if (this.b[this.pos] === 0x7d) {
      this.pos++;
    } else {
      for (;;) {
        this.ws();
        if (this.b[this.pos] !== 0x22) this.fail('expected object key');
        const key = this.string();
        this.ws();
        if (this.b[this.pos] !== 0x3a) this.fail('expected colon');
        this.pos++;
        this.ws();
        const start = this.pos;
        const value = this.value();
        members.push({ key, value, start, end: this.pos });
        this.ws();
        const c = this.b[this.pos++];
        if (c === 0x7d) break;
        if (c !== 0x2c) this.fail('expected comma or closing brace');
      }
    }
    this.depth--;
    return new JsonObject(members, this.b);
  }

  private array(): JsonValue[] {
    this.enter();
    const items: JsonValue[] = [];
    this.ws();
    if (this.b[this.pos] === 0x5d) {
      this.pos++;
    } else {
      for (;;) {
        items.push(this.value());
        this.ws();
        const c = this.b[this.pos++];
        if (c === 0x5d) break;
        if (c !== 0x2c) this.fail('expected comma or closing bracket');
      }
    }
    this.depth--;
    return items;
  }

  private number(): JsonNumber {
    const b = this.b;
    const start = this.pos;
    const digits = (): number => {
      const s = this.pos;
      while (b[this.pos] !== undefined && b[this.pos]! >= 0x30 && b[this.pos]! <= 0x39) this.pos++;
      return this.pos - s;
    };
    if (b[this.pos] === 0x2d) this.pos++;
    if (b[this.pos] === 0x30) this.pos++;
    else if (digits() === 0) this.fail('bad number');
    if (b[this.pos] === 0x2e) {
      this.pos++;
      if (digits() === 0) this.fail('bad number fraction');
    }
    if (b[this.pos] === 0x65 || b[this.pos] === 0x45) {
      this.pos++;
      if (b[this.pos] === 0x2b || b[this.pos] === 0x2d) this.pos++;
      if (digits() === 0) this.fail('bad number exponent');
    }
    return new JsonNumber(Buffer.from(b.buffer, b.byteOffset + start, this.pos - start).toString('latin1'));
  }

  private hex4(at: number): number {
    let v = 0;
    for (let j = 0; j < 4; j++) {
      const c = this.b[at + j] ?? 0;
      const h = c >= 0x30 && c <= 0x39 ? c - 0x30 : (c | 0x20) >= 0x61 && (c | 0x20) <= 0x66 ? (c | 0x20) - 0x57 : -1;
      if (h < 0) {
        this.pos = at + j;
        this.fail('bad \\u escape');
      }
      v = v * 16 + h;
    }
    return v;
  }

  string(): string {
    const b = this.b;
    this.pos++; // opening quote
    let out = '';
    let segStart = this.pos;
    let plain = true; // segment is ASCII only
    const flush = (): void => {
      if (this.pos > segStart) out += decodeSegment(b, segStart, this.pos, plain);
      plain = true;
    };
    for (;;) {
      const c = b[this.pos];
      if (c === undefined) this.fail('unterminated string');
      if (c === 0x22) {
        flush();
        this.pos++;
        return out;
      }
      if (c < 0x20) this.fail('control character in string');
      if (c >= 0x80) plain = false;
      if (c !== 0x5c) {
        this.pos++;
        continue;
      }
      flush();
      const e = b[this.pos + 1];
      this.pos += 2;
      const simple = e === undefined ? undefined : JSON_UNESCAPES[e];
      if (simple !== undefined) {
        out += simple;
      } else if (e === 0x75) {
        const r = this.hex4(this.pos);
        this.pos += 4;
        if (r < 0xd800 || r > 0xdfff) {
          out += String.fromCharCode(r);
        } else if (r <= 0xdbff && b[this.pos] === 0x5c && b[this.pos + 1] === 0x75 && isLowSurrogate(this.hex4(this.pos + 2))) {
          out += String.fromCharCode(r, this.hex4(this.pos + 2));
          this.pos += 6;
        } else {
          out += '\ufffd'; // Go replaces an unpaired surrogate and leaves what follows alone
        }
      } else {
        this.pos -= 1;
        this.fail('bad escape in string');
      }
      segStart = this.pos;
    }
  }
}

function isLowSurrogate(r: number): boolean {
  return r >= 0xdc00 && r <= 0xdfff;
}

const JSON_UNESCAPES: Readonly<Record<number, string>> = {
  0x22: '"',
  0x5c: '\\',
  0x2f: '/',
  0x62: '\b',
  0x66: '\f',
  0x6e: '\n',
  0x72: '\r',
  0x74: '\t',
};

/** Text of raw string bytes; invalid UTF-8 becomes one U+FFFD per bad byte, as Go decodes. */
function decodeSegment(b: Uint8Array, start: number, end: number, ascii: boolean): string {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.length);
  if (ascii) return buf.toString('latin1', start, end);
  let out = '';
  let run = start;
  for (let i = start; i < end; ) {
    if (b[i]! < 0x80) {
      i++;
      continue;
    }
    const [r, w] = decodeRune(b, i);
    if (r === RUNE_ERROR && w === 1) {
      out += buf.toString('utf8', run, i) + '\ufffd';
      run = ++i;
    } else {
      i += w;
    }
  }
  return out + buf.toString('utf8', run, end);
}

/** Parses a complete JSON document strictly (RFC 8259; no BOM, no trailing data). */
export function parseJson(b: Uint8Array): JsonValue {
  const p = new Parser(b);
  const v = p.value();
  p.ws();
  if (p.pos !== b.length) p.fail('trailing data after the document');
  return v;
}

// ---------------------------------------------------------------------------------------------
// Typed field readers with Go's decoding rules. `what` names the field for error messages.

function typeName(v: JsonValue): string {
  if (v === null) return 'null';
  if (v instanceof JsonNumber) return 'number';
  if (v instanceof JsonObject) return 'object';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function wrongType(what: string, want: string, v: JsonValue): never {
  throw malformedError(`invalid ${what}: expected ${want}, got ${typeName(v)}`);
}

/** An unsigned integer field (`uint32`, `uint64`); absent or null is 0. */
export function readUint(v: JsonValue | undefined, bits: 32 | 64, what: string): bigint {
  if (v === undefined || v === null) return 0n;
  if (!(v instanceof JsonNumber)) return wrongType(what, 'an unsigned integer', v);
  if (!/^(0|[1-9][0-9]{0,19})$/.test(v.raw)) throw malformedError(`invalid ${what}: ${v.raw.slice(0, 40)} is not a uint${bits}`);
  const n = BigInt(v.raw);
  if (n >> BigInt(bits) !== 0n) throw malformedError(`invalid ${what}: ${v.raw} overflows uint${bits}`);
  return n;
}

/** A signed `int` (int64) field; absent or null is 0. */
export function readInt64(v: JsonValue | undefined, what: string): bigint {
  if (v === undefined || v === null) return 0n;
  if (!(v instanceof JsonNumber)) return wrongType(what, 'an integer', v);
  if (!/^-?(0|[1-9][0-9]{0,18})$/.test(v.raw)) throw malformedError(`invalid ${what}: ${v.raw.slice(0, 40)} is not an int64`);
  const n = BigInt(v.raw);
  if (n !== BigInt.asIntN(64, n)) throw malformedError(`invalid ${what}: ${v.raw} overflows int64`);
  return n;
}

/** A string field; absent or null is "". */
export function readString(v: JsonValue | undefined, what: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') return wrongType(what, 'a string', v);
  return v;
}

/** An array field; absent or null is null (Go's nil slice). */
export function readArray(v: JsonValue | undefined, what: string): JsonValue[] | null {
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v)) return wrongType(what, 'an array', v);
  return v;
}

/** An object field; absent or null is null. */
export function readObject(v: JsonValue | undefined, what: string): JsonObject | null {
  if (v === undefined || v === null) return null;
  if (!(v instanceof JsonObject)) return wrongType(what, 'an object', v);
  return v;
}

/** A `[]string` field; absent or null is null; null elements are "". */
export function readStringArray(v: JsonValue | undefined, what: string): string[] | null {
  const a = readArray(v, what);
  return a === null ? null : a.map((x, i) => readString(x, `${what}[${i}]`));
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A `[]byte` field: standard padded base64 (Go skips CR and LF); absent or null is null. */
export function readBase64(v: JsonValue | undefined, what: string): Buffer | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') return wrongType(what, 'a base64 string', v);
  const s = v.replace(/[\r\n]/g, '');
  if (!BASE64.test(s)) throw malformedError(`invalid ${what}: not standard base64`);
  return Buffer.from(s, 'base64');
}
