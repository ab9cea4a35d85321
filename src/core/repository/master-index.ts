/**
 * The in-memory union of all index files (restic internal/repository/master_index.go): where each
 * blob lives, and what every indexed pack should contain (restic-format.md §5.2, §9.3).
 *
 * Memory: a repository of a few TB has millions of blobs, so locations are not JS objects with
 * 64-char hex strings (~250 B each) but rows in typed arrays (~70 B each): the 32 id bytes, pack
 * number, offset, length, uncompressed length, type, and two chain links. An open-addressing
 * table keyed on (type, id) points at the first location of each blob; further locations of the
 * same blob (the same blob in several packs: redundancy that prune removes) hang off it in
 * insertion order, so lookup() returns the first one added. A second chain links the locations of
 * each pack, which gives a pack's blob list without scanning everything.
 *
 * Invariants: a (pack, offset) pair is stored at most once per blob, so the same pack listed in
 * two index files (restic's "duplicate packs" hint) does not double its blobs or its expected
 * size; the expected size is 36 + Σ(length + 37|41) over the pack's distinct locations.
 */
import { randomBytes } from 'node:crypto';
import { malformedError } from '../errors.ts';
import type { IndexId, PackId, BlobId } from '../ids.ts';
import { COMPRESSED_ENTRY_SIZE, PACK_HEADER_OVERHEAD, PLAIN_ENTRY_SIZE, type BlobType, type PackedBlob } from '../format/pack.ts';

export interface BlobLocation {
  readonly packId: PackId;
  readonly offset: number;
  readonly length: number;
  readonly uncompressedLength?: number;
}

/** MasterIndex.exportRows(): row i is blob ids[32i..32i+32) in packIds[pack[i]]; type 0 data, 1 tree. */
export interface IndexRows {
  readonly packIds: readonly PackId[];
  readonly packIndexIds: readonly (readonly IndexId[])[];
  readonly ids: Uint8Array;
  readonly pack: Uint32Array;
  readonly offset: Uint32Array;
  readonly length: Uint32Array;
  readonly ulen: Uint32Array;
  readonly type: Uint8Array;
}

export interface IndexedBlob extends BlobLocation {
  readonly type: BlobType;
  readonly id: BlobId;
}

export interface IndexedPack {
  readonly id: PackId;
  /** Blobs in offset order. */
  readonly blobs: PackedBlob[];
  /** The file size restic's check expects: 36 + Σ(length + 37|41). */
  readonly size: number;
  /** Index files that listed this pack (more than one: restic's "duplicate packs" hint). */
  readonly indexIds: readonly IndexId[];
}

export interface IndexCounts {
  /** Distinct data blobs. */
  readonly data: number;
  /** Distinct tree blobs. */
  readonly tree: number;
  readonly packs: number;
  /** Stored locations; more than data + tree when blobs are duplicated across packs. */
  readonly locations: number;
}

const EMPTY = -1;
const isU32 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
const INITIAL_ROWS = 1024;
const HEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX['0123456789abcdef'.charCodeAt(i)] = i;
  HEX['0123456789ABCDEF'.charCodeAt(i)] = i;
}

export class MasterIndex {
  // Location rows.
  #rows = 0;
  #ids = new Uint8Array(INITIAL_ROWS * 32);
  #pack = new Uint32Array(INITIAL_ROWS);
  #offset = new Uint32Array(INITIAL_ROWS);
  #length = new Uint32Array(INITIAL_ROWS);
  #ulen = new Uint32Array(INITIAL_ROWS);
  #type = new Uint8Array(INITIAL_ROWS);
  #nextSame = new Int32Array(INITIAL_ROWS);
  #nextInPack = new Int32Array(INITIAL_ROWS);

  // (type, id) -> first row.
  #table = new Int32Array(2048).fill(EMPTY);
  #keys = 0;
  readonly #distinct = [0, 0];
  readonly #seed = randomBytes(4).readUInt32LE(0);
  readonly #scratch = Buffer.alloc(32);

  // Packs, numbered in order of first appearance.
  readonly #packIds: PackId[] = [];
  readonly #packNo = new Map<string, number>();
  readonly #packHead: number[] = [];
  readonly #packSize: number[] = [];
  readonly #packIndexIds: IndexId[][] = [];

  /** Adds a pack's blobs, as read from an index file (indexId) or just written. */
  add(packId: PackId, blobs: readonly PackedBlob[], indexId?: IndexId): void {
    const pn = this.#packNumber(packId);
    if (indexId !== undefined && !this.#packIndexIds[pn]!.includes(indexId)) this.#packIndexIds[pn]!.push(indexId);
    for (const b of blobs) this.#addLocation(pn, b);
  }

  /** The first known location of a blob. */
  lookup(type: BlobType, id: BlobId): BlobLocation | undefined {
    const row = this.#find(type, id);
    return row === EMPTY ? undefined : this.#location(row);
  }

  /** Every known location of a blob, first added first. */
  lookupAll(type: BlobType, id: BlobId): BlobLocation[] {
    const out: BlobLocation[] = [];
    for (let row = this.#find(type, id); row !== EMPTY; row = this.#nextSame[row]!) out.push(this.#location(row));
    return out;
  }

  /** Calls fn with the 32 id bytes (a view, valid only during the call) of every distinct blob of a type. */
  forEachId(type: BlobType, fn: (id: Uint8Array) => void): void {
    const t = type === 'tree' ? 1 : 0;
    for (const row of this.#table) {
      if (row !== EMPTY && this.#type[row] === t) fn(this.#ids.subarray(row * 32, row * 32 + 32));
    }
  }

  has(type: BlobType, id: BlobId): boolean {
    return this.#find(type, id) !== EMPTY;
  }

  hasPack(packId: PackId): boolean {
    return this.#packNo.has(packId);
  }

  /** One pack's indexed blobs and expected size. */
  pack(packId: PackId): IndexedPack | undefined {
    const pn = this.#packNo.get(packId);
    return pn === undefined ? undefined : this.#packInfo(pn);
  }

  /** Every indexed pack, one at a time (blob lists are built on demand). */
  *packs(): IterableIterator<IndexedPack> {
    for (let pn = 0; pn < this.#packIds.length; pn++) yield this.#packInfo(pn);
  }

  /** Every stored location. */
  *blobs(): IterableIterator<IndexedBlob> {
    for (let row = 0; row < this.#rows; row++) {
      yield { type: this.#type[row] ? 'tree' : 'data', id: this.#idAt(row), ...this.#location(row) };
    }
  }

  get counts(): IndexCounts {
    return { data: this.#distinct[0]!, tree: this.#distinct[1]!, packs: this.#packIds.length, locations: this.#rows };
  }

  /**
   * Forgets packs and every location in them (prune, before it writes the index without them:
   * a blob whose only copies were there is then unknown, so the blob saver stores it anew).
   * The other locations keep their order, so lookup() still returns the first one added.
   * Returns how many of the given packs were known.
   */
  removePacks(packIds: Iterable<string>): number {
    const drop = new Set<number>();
    for (const id of packIds) {
      const pn = this.#packNo.get(id);
      if (pn !== undefined) drop.add(pn);
    }
    if (drop.size === 0) return 0;
    const old = { rows: this.#rows, ids: this.#ids, pack: this.#pack, offset: this.#offset, length: this.#length, ulen: this.#ulen, type: this.#type };
    const oldPacks = this.#packIds.map((id, pn) => ({ id, indexIds: this.#packIndexIds[pn]!, dropped: drop.has(pn) }));
    const cap = this.#pack.length;
    this.#rows = 0;
    this.#ids = new Uint8Array(cap * 32);
    this.#pack = new Uint32Array(cap);
    this.#offset = new Uint32Array(cap);
    this.#length = new Uint32Array(cap);
    this.#ulen = new Uint32Array(cap);
    this.#type = new Uint8Array(cap);
    this.#nextSame = new Int32Array(cap);
    this.#nextInPack = new Int32Array(cap);
    this.#table = new Int32Array(this.#table.length).fill(EMPTY);
    this.#keys = 0;
    this.#distinct[0] = 0;
    this.#distinct[1] = 0;
    this.#packIds.length = 0;
    this.#packNo.clear();
    this.#packHead.length = 0;
    this.#packSize.length = 0;
    this.#packIndexIds.length = 0;
    // Packs keep their relative numbering order, then rows are re-added in their old order.
    for (const p of oldPacks) if (!p.dropped) this.#packIndexIds[this.#packNumber(p.id)]!.push(...p.indexIds);
    for (let row = 0; row < old.rows; row++) {
      const oldPack = oldPacks[old.pack[row]!]!;
      if (oldPack.dropped) continue;
      const id = Buffer.from(old.ids.buffer, old.ids.byteOffset + row * 32, 32).toString('hex') as BlobId;
      const type: BlobType = old.type[row] ? 'tree' : 'data';
      const ul = old.ulen[row]!;
      const b: PackedBlob = ul > 0 ? { type, id, offset: old.offset[row]!, length: old.length[row]!, uncompressedLength: ul } : { type, id, offset: old.offset[row]!, length: old.length[row]! };
      this.#addLocation(this.#packNo.get(oldPack.id)!, b);
    }
    return drop.size;
  }

  /**
   * Every location and pack as compact arrays, in the order they were added (the index cache
   * stores this; importRows gives back an index that answers every query the same way).
   */
  exportRows(): IndexRows {
    const n = this.#rows;
    return {
      packIds: [...this.#packIds],
      packIndexIds: this.#packIndexIds.map((l) => [...l]),
      ids: this.#ids.subarray(0, n * 32),
      pack: this.#pack.subarray(0, n),
      offset: this.#offset.subarray(0, n),
      length: this.#length.subarray(0, n),
      ulen: this.#ulen.subarray(0, n),
      type: this.#type.subarray(0, n),
    };
  }

  /** Adds what exportRows gave (into any index: rows are added as index files' blobs are). */
  importRows(r: IndexRows): void {
    const n = r.pack.length;
    if (r.ids.length !== n * 32 || r.offset.length !== n || r.length.length !== n || r.ulen.length !== n || r.type.length !== n || r.packIndexIds.length !== r.packIds.length) {
      throw malformedError('Cannot import index rows: array lengths disagree');
    }
    const pns = r.packIds.map((id, i) => {
      const pn = this.#packNumber(id);
      for (const x of r.packIndexIds[i]!) if (!this.#packIndexIds[pn]!.includes(x)) this.#packIndexIds[pn]!.push(x);
      return pn;
    });
    for (let row = 0; row < n; row++) {
      const pn = pns[r.pack[row]!];
      const t = r.type[row]!;
      if (pn === undefined || t > 1) throw malformedError(`Cannot import index rows: row ${row} names pack ${r.pack[row]} or type ${t}`);
      this.#scratch.set(r.ids.subarray(row * 32, row * 32 + 32));
      this.#insert(pn, t, r.offset[row]!, r.length[row]!, r.ulen[row]!);
    }
  }

  // ---- internals ----

  #packNumber(packId: PackId): number {
    let pn = this.#packNo.get(packId);
    if (pn === undefined) {
      pn = this.#packIds.length;
      this.#packIds.push(packId);
      this.#packNo.set(packId, pn);
      this.#packHead.push(EMPTY);
      this.#packSize.push(PACK_HEADER_OVERHEAD);
      this.#packIndexIds.push([]);
    }
    return pn;
  }

  #addLocation(pn: number, b: PackedBlob): void {
    const t = b.type === 'tree' ? 1 : 0;
    if (!this.#loadId(b.id)) throw malformedError(`Cannot index blob: invalid id ${JSON.stringify(String(b.id).slice(0, 80))}`);
    if (!isU32(b.offset) || !isU32(b.length) || (b.uncompressedLength !== undefined && !isU32(b.uncompressedLength))) {
      throw malformedError(`Cannot index blob ${b.id.slice(0, 8)}: offset, length or uncompressed length out of range`);
    }
    this.#insert(pn, t, b.offset, b.length, b.uncompressedLength ?? 0);
  }

  /** Adds the location of the blob whose id is in the scratch buffer. */
  #insert(pn: number, t: number, offset: number, length: number, ulen: number): void {
    const slot = this.#slotFor(t);
    let head = this.#table[slot]!;
    if (head !== EMPTY) {
      let last = head;
      for (let row = head; row !== EMPTY; row = this.#nextSame[row]!) {
        if (this.#pack[row] === pn && this.#offset[row] === offset) return;
        last = row;
      }
      const row = this.#newRow(pn, t, offset, length, ulen);
      this.#nextSame[last] = row;
      return;
    }
    head = this.#newRow(pn, t, offset, length, ulen);
    this.#table[slot] = head;
    this.#keys++;
    this.#distinct[t]!++;
    if (this.#keys * 2 > this.#table.length) this.#rehash(this.#table.length * 2);
  }

  #newRow(pn: number, t: number, offset: number, length: number, ulen: number): number {
    if (this.#rows === this.#pack.length) this.#grow();
    const row = this.#rows++;
    this.#ids.set(this.#scratch, row * 32);
    this.#pack[row] = pn;
    this.#offset[row] = offset;
    this.#length[row] = length;
    this.#ulen[row] = ulen;
    this.#type[row] = t;
    this.#nextSame[row] = EMPTY;
    this.#nextInPack[row] = this.#packHead[pn]!;
    this.#packHead[pn] = row;
    this.#packSize[pn]! += length + (ulen ? COMPRESSED_ENTRY_SIZE : PLAIN_ENTRY_SIZE);
    return row;
  }

  #grow(): void {
    const cap = this.#pack.length * 2;
    const grow = <T extends Uint8Array | Uint32Array | Int32Array>(a: T, make: (n: number) => T, n: number): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.#ids = grow(this.#ids, (n) => new Uint8Array(n), cap * 32);
    this.#pack = grow(this.#pack, (n) => new Uint32Array(n), cap);
    this.#offset = grow(this.#offset, (n) => new Uint32Array(n), cap);
    this.#length = grow(this.#length, (n) => new Uint32Array(n), cap);
    this.#ulen = grow(this.#ulen, (n) => new Uint32Array(n), cap);
    this.#type = grow(this.#type, (n) => new Uint8Array(n), cap);
    this.#nextSame = grow(this.#nextSame, (n) => new Int32Array(n), cap);
    this.#nextInPack = grow(this.#nextInPack, (n) => new Int32Array(n), cap);
  }

  /** Loads a hex id into the scratch buffer; false if it is not 64 hex chars (either case). */
  #loadId(id: string): boolean {
    if (typeof id !== 'string' || id.length !== 64) return false;
    const s = this.#scratch;
    for (let i = 0; i < 32; i++) {
      const c1 = id.charCodeAt(2 * i);
      const c2 = id.charCodeAt(2 * i + 1);
      if ((c1 | c2) > 127) return false;
      const hi = HEX[c1]!;
      const lo = HEX[c2]!;
      if ((hi | lo) < 0) return false;
      s[i] = (hi << 4) | lo;
    }
    return true;
  }

  #hash(buf: Uint8Array, off: number, t: number): number {
    const a = (buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16) | (buf[off + 3]! << 24)) ^ this.#seed;
    const b = buf[off + 4]! | (buf[off + 5]! << 8) | (buf[off + 6]! << 16) | (buf[off + 7]! << 24);
    let h = Math.imul(a ^ t, 0x85ebca6b) ^ b;
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return (h ^ (h >>> 16)) >>> 0;
  }

  /** The table slot holding the scratch id of type t, or the empty slot where it would go. */
  #slotFor(t: number): number {
    const mask = this.#table.length - 1;
    const s = this.#scratch;
    for (let slot = this.#hash(s, 0, t) & mask; ; slot = (slot + 1) & mask) {
      const row = this.#table[slot]!;
      if (row === EMPTY) return slot;
      if (this.#type[row] !== t) continue;
      const base = row * 32;
      let i = 0;
      while (i < 32 && this.#ids[base + i] === s[i]) i++;
      if (i === 32) return slot;
    }
  }

  #find(type: BlobType, id: BlobId): number {
    if (!this.#loadId(id)) return EMPTY;
    return this.#table[this.#slotFor(type === 'tree' ? 1 : 0)]!;
  }

  #rehash(size: number): void {
    const old = this.#table;
    this.#table = new Int32Array(size).fill(EMPTY);
    const mask = size - 1;
    for (const row of old) {
      if (row === EMPTY) continue;
      let slot = this.#hash(this.#ids, row * 32, this.#type[row]!) & mask;
      while (this.#table[slot] !== EMPTY) slot = (slot + 1) & mask;
      this.#table[slot] = row;
    }
  }

  #idAt(row: number): BlobId {
    return Buffer.from(this.#ids.buffer, this.#ids.byteOffset + row * 32, 32).toString('hex') as BlobId;
  }

  #location(row: number): BlobLocation {
    const packId = this.#packIds[this.#pack[row]!]!;
    const ul = this.#ulen[row]!;
    return ul > 0
      ? { packId, offset: this.#offset[row]!, length: this.#length[row]!, uncompressedLength: ul }
      : { packId, offset: this.#offset[row]!, length: this.#length[row]! };
  }

  #packInfo(pn: number): IndexedPack {
    const blobs: PackedBlob[] = [];
    for (let row = this.#packHead[pn]!; row !== EMPTY; row = this.#nextInPack[row]!) {
      const ul = this.#ulen[row]!;
      const type: BlobType = this.#type[row] ? 'tree' : 'data';
      const id = this.#idAt(row);
      const offset = this.#offset[row]!;
      const length = this.#length[row]!;
      blobs.push(ul > 0 ? { type, id, offset, length, uncompressedLength: ul } : { type, id, offset, length });
    }
    blobs.sort((x, y) => x.offset - y.offset);
    return { id: this.#packIds[pn]!, blobs, size: this.#packSize[pn]!, indexIds: [...this.#packIndexIds[pn]!] };
  }
}
