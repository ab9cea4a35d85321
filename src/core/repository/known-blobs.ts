/**
 * A read-only set of blob ids in shared memory, for worker threads that chunk files: a chunk
 * whose id the repository already holds is neither compressed nor encrypted again. The set is
 * a snapshot of the index when a backup starts; blobs added later are deduplicated by the
 * main thread (BlobSaver), so a stale set only costs work, never correctness.
 *
 * Layout: open addressing over `capacity` 32-byte slots (a power of two, at most half full);
 * ids are SHA-256 values, so their first four bytes index the table directly. An all-zero slot
 * is empty, hence the all-zero id is never stored (it is then simply sealed again).
 */
const ID = 32;

export class KnownBlobs {
  readonly #slots: Uint8Array;
  readonly #mask: number;

  private constructor(readonly buffer: SharedArrayBuffer) {
    this.#slots = new Uint8Array(buffer);
    this.#mask = buffer.byteLength / ID - 1;
  }

  /** Builds the set from `forEach` (e.g. MasterIndex.forEachId) of at most `count` ids. */
  static build(count: number, forEach: (fn: (id: Uint8Array) => void) => void): KnownBlobs {
    let capacity = 16;
    while (capacity < count * 2) capacity *= 2;
    const set = new KnownBlobs(new SharedArrayBuffer(capacity * ID));
    forEach((id) => set.#insert(id));
    return set;
  }

  /** The set whose buffer another thread built. */
  static attach(buffer: SharedArrayBuffer): KnownBlobs {
    const slots = buffer.byteLength / ID;
    if (!Number.isInteger(slots) || slots < 1 || (slots & (slots - 1)) !== 0) throw new RangeError('KnownBlobs: buffer is not a power-of-two number of slots');
    return new KnownBlobs(buffer);
  }

  has(id: Uint8Array): boolean {
    return this.#slotOf(id) >= 0;
  }

  /** The slot holding id (>= 0), or -(empty slot + 1) where it would go. */
  #slotOf(id: Uint8Array): number {
    if (id.length !== ID) throw new RangeError('KnownBlobs: an id is 32 bytes');
    const s = this.#slots;
    for (let slot = (id[0]! | (id[1]! << 8) | (id[2]! << 16) | (id[3]! << 24)) & this.#mask; ; slot = (slot + 1) & this.#mask) {
      const base = slot * ID;
      let empty = true;
      for (let j = 0; j < ID && empty; j++) empty = s[base + j] === 0;
      if (empty) return -(slot + 1);
      let i = 0;
      while (i < ID && s[base + i] === id[i]) i++;
      if (i === ID) return slot;
    }
  }

  #insert(id: Uint8Array): void {
    if (id.every((b) => b === 0)) return;
    const slot = this.#slotOf(id);
    if (slot < 0) this.#slots.set(id, (-slot - 1) * ID);
  }
}
