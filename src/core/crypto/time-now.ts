/** Local wall-clock time as Go's RFC3339Nano writes it (restic stamps keys, locks, snapshots). */
export function formatGoTime(d: Date, extraNanos = 0): string {
  const off = -d.getTimezoneOffset();
  const local = new Date(d.getTime() + off * 60000);
  const base = local.toISOString().slice(0, 19);
  const nanos = d.getUTCMilliseconds() * 1e6 + extraNanos;
  let frac = nanos === 0 ? '' : '.' + String(nanos).padStart(9, '0').replace(/0+$/, '');
  const zone = off === 0 ? 'Z' : `${off > 0 ? '+' : '-'}${String(Math.floor(Math.abs(off) / 60)).padStart(2, '0')}:${String(Math.abs(off) % 60).padStart(2, '0')}`;
  return base + frac + zone;
}
