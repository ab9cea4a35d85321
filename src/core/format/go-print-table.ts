/**
 * The runes above U+00FF that go1.19 `strconv.IsPrint` accepts (Unicode 13.0), as maximal
 * ranges. restic 0.14 was built with go1.19, so this is what its `strconv.Quote` leaves literal
 * in tree node names; every other valid rune above U+00FF is escaped as `\u` or `\U`.
 *
 * Measured, not transcribed: every code point from U+0100 to U+10FFFF (surrogates excepted) was
 * put into file names, backed up with restic 0.14, and read back from the tree to see which
 * came out escaped. restic-oracle.test.ts re-checks every range edge against restic, and with
 * LIFEBOAT_FULL_UNICODE_PROBE=1 every code point (about 20 s); on a mismatch it prints a fresh
 * table. Using a table instead of the JS engine's Unicode properties keeps the result the same
 * on every Node version (Node 20 knows Unicode 17, where 15,933 more runes are printable).
 *
 * Encoding: comma-separated `gap.length` pairs in base 36; a range starts `gap` code points
 * after the previous range's end + 1 (the first after U+00FF + 1) and spans `length` + 1 runes.
 */
export const GO119_PRINT_TABLE =
  '0.hj,2.5,4.6,1.0,1.j,1.b0,1.11,2.1d,2.2,1.1i,8.q,4.5,h.l,2.5a,1.1b,2.1m,2.2s,e.1m,2.1c,2.e,1.r,2' +
  '.0,1.a,1h.k,1.h,b.e,1.4g,1.7,2.1,2.l,1.6,1.0,3.3,2.8,2.1,2.3,8.0,4.1,1.4,2.o,2.2,1.5,4.1,2.l,1.6' +
  ',1.1,1.1,1.1,2.0,1.4,4.1,2.2,3.0,7.3,1.0,7.g,a.2,1.8,1.2,1.l,1.6,1.1,1.4,2.9,1.2,1.2,2.0,f.3,2.b' +
  ',7.6,1.2,1.7,2.1,2.l,1.6,1.1,1.4,2.8,2.1,2.2,7.2,4.1,1.4,2.h,a.1,1.5,3.2,1.3,3.1,1.0,1.1,3.1,3.2' +
  ',3.b,4.4,3.2,1.3,2.0,6.0,e.k,5.c,1.2,1.m,1.f,3.7,1.2,1.3,7.1,1.2,5.3,2.9,7.l,1.2,1.m,1.9,1.4,2.8' +
  ',1.2,1.3,7.1,7.0,1.3,2.9,1.1,d.c,1.2,1.1e,1.2,1.5,4.f,2.p,1.2,1.h,3.n,1.8,1.0,2.6,3.0,4.5,1.0,1.' +
  '7,6.9,2.2,c.1l,4.s,11.1,1.0,1.4,1.n,1.0,1.m,2.4,1.0,1.5,2.9,2.3,w.1z,1.z,4.12,1.z,1.e,1.c,11.5h,' +
  '1.0,5.0,2.ag,1.3,2.6,1.0,1.3,2.14,1.3,2.w,1.3,2.6,1.0,1.3,2.e,1.1k,1.3,2.1u,2.v,3.p,6.2d,2.5,2.h' +
  'r,1.r,3.2g,7.c,1.6,b.m,9.j,c.c,1.2,1.1,c.2l,2.9,6.9,6.d,2.9,6.2g,7.16,5.1x,a.u,1.b,4.b,4.0,3.15,' +
  '2.4,b.17,4.p,6.a,3.1p,2.1s,1.s,2.a,6.9,6.d,2.g,1r.23,4.18,3.37,8.1n,3.e,3.1n,7.16,2.a,8.16,5.6x,' +
  '1.7u,2.5,2.11,2.5,2.7,1.0,1.0,1.0,1.u,2.1g,1.e,1.d,2.5,1.i,2.2,1.8,h.n,8.1a,h.1,2.q,1.c,3.v,g.w,' +
  'f.3v,4.ie,p.a,l.1eb,2.v,1.47,1.1a,1.43,5.18,1.0,5.0,2.1j,7.1,e.n,9.6,1.6,1.6,1.6,1.6,1.6,1.6,1.6' +
  ',1.36,19.p,1.2g,c.5x,q.b,5.1q,1.2d,2.2u,5.16,1.2l,1.2b,c.1a,1.lp8,3.wc,3.1i,9.9n,k.53,8.5b,2.8,1' +
  '6.1j,3.9,6.1j,8.1x,8.b,6.37,b.t,3.25,1.a,4.w,1.1i,9.d,2.9,2.2u,o.r,a.5,2.5,2.5,9.6,1.6,1.1n,4.3h' +
  ',2.9,6.8mb,c.m,4.1c,6is.a5,2.2x,12.6,c.4,5.p,1.4,1.0,1.1,1.1,1.3f,h.a4,g.1r,2.1h,14.d,2.p,6.1e,1' +
  '.i,1.3,4.4,1.3q,4.59,3.5,2.5,2.5,2.2,3.6,1.6,d.1,2.b,1.p,1.i,1.1,1.e,2.d,y.3e,5.2,4.18,3.2f,1.c,' +
  '3.0,1b.19,3m.s,3.1c,f.r,4.z,9.t,5.16,5.t,1.10,4.d,16.4d,2.9,6.z,4.z,4.13,8.1f,b.0,40.8m,9.l,a.7,' +
  '48.5,2.0,1.17,1.1,3.0,2.m,1.1z,8.8,1c.i,1.1,5.w,3.q,5.0,1s.1j,4.j,2.1d,1.1,5.7,1.2,1.s,2.2,4.9,7' +
  '.8,7.1r,w.12,4.b,9.1h,3.s,2.q,5.p,7.3,c.6,28.20,1j.1e,d.1e,7.19,8.9,86.u,1.15,1.2,2.1,26.13,8.15' +
  ',2e.r,k.m,9.25,4.t,f.1p,1.3,e.o,7.9,6.1g,1.h,8.12,9.2n,1.j,b.h,1.17,1t.6,1.0,1.3,1.e,1.a,6.1m,5.' +
  '9,6.3,1.7,2.1,2.l,1.6,1.1,1.4,1.9,2.1,2.2,2.0,6.0,5.6,2.6,3.4,3v.2j,1.4,u.1z,8.9,4m.1h,2.11,y.1w' +
  ',b.9,6.c,j.1k,7.9,1i.q,2.e,4.f,5c.1n,2s.2a,c.7,2.0,2.7,1.1,1.t,1.1,2.b,9.9,1y.7,2.19,2.a,r.1z,8.' +
  '2a,t.1k,7b.8,1.18,1.d,a.s,3.v,2.l,1.d,21.6,1.1,1.17,3.0,1.1,1.8,8.9,6.5,1.1,1.10,1.1,1.5,7.9,8m.' +
  'o,53.0,f.1d,d.pm,2u.32,1.4,b.5f,24c.tq,34h.g6,6nt.fs,7.u,1.9,4.1,2o.t,2.5,a.1x,a.9,1.6,1.k,5.i,j' +
  '4.2i,2t.22,4.1k,7.g,1s.4,b.1,e.4qf,8.yd,16.8,6wn.7y,1d.2,h.3,8.az,1s4.2y,5.c,3.8,7.9,2.3,3ts.6t,' +
  'a.12,2.21,8.31,n.1x,4a.j,c.2e,9.o,3r.2c,1.1y,1.1,2.0,2.1,2.3,1.b,1.0,1.6,1.1s,1.3,2.7,1.6,1.r,1.' +
  '3,1.4,1.0,3.6,1.9f,2.83,2.jh,f.4,1.e,11s.6,1.g,2.6,1.1,1.4,5x.18,3.d,2.9,4.1,a8.1l,5.0,zk.5g,2.f' +
  ',15.23,4.9,4.1,lt.1v,24.1o,5e.3,1.q,1.1,1.0,2.0,1.9,1.3,1.0,1.0,6.0,4.0,1.0,1.0,1.2,1.1,1.0,2.0,' +
  '1.0,1.0,1.0,1.0,1.1,1.0,2.3,1.6,1.3,1.3,1.0,1.9,1.g,5.2,1.4,1.g,1g.1,7i.17,4.2r,c.e,2.e,1.e,1.10' +
  ',a.4t,1k.s,d.17,4.8,7.1,e.5,4a.rb,8.c,3.c,3.37,c.2g,7.b,k.b,4.1j,8.9,6.13,8.t,2.1,26.3c,1.29,1.3' +
  'q,c.d,2.4,3.2,5.6,9.o,7.6,9.2,d.6,15.42,1.1i,11.9,sm.wyl,y.378,b.65,2.4g1,e.5rk,2e7.f1,15u.3t6,f' +
  'cmt.6n';

/** Decodes a table in the format above into sorted [start, end] pairs (inclusive). */
export function decodePrintTable(table: string): Uint32Array {
  const parts = table.split(',');
  const out = new Uint32Array(parts.length * 2);
  let prev = 0xff;
  parts.forEach((p, i) => {
    const dot = p.indexOf('.');
    const start = prev + 1 + parseInt(p.slice(0, dot), 36);
    prev = start + parseInt(p.slice(dot + 1), 36);
    out[2 * i] = start;
    out[2 * i + 1] = prev;
  });
  return out;
}

/** Encodes sorted inclusive [start, end] pairs (all above U+00FF) into the table format. */
export function encodePrintTable(ranges: readonly (readonly [number, number])[]): string {
  let prev = 0xff;
  return ranges
    .map(([s, e]) => {
      const part = (s - prev - 1).toString(36) + '.' + (e - s).toString(36);
      prev = e;
      return part;
    })
    .join(',');
}
