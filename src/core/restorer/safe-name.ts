/**
 * The restore guard: a node name from a snapshot becomes a path component only if it cannot
 * point anywhere but one entry inside its parent directory. Snapshots are untrusted input
 * (a hostile or damaged repository), so this runs on every node.
 */
export function unsafeNameReason(name: Buffer): string | undefined {
  if (name.length === 0) return 'empty name';
  if (name.length === 1 && name[0] === 0x2e) return 'name is "."';
  if (name.length === 2 && name[0] === 0x2e && name[1] === 0x2e) return 'name is ".."';
  if (name.includes(0x2f)) return 'name contains "/"';
  if (name.includes(0)) return 'name contains a NUL byte';
  if (name.length > 255) return 'name longer than 255 bytes';
  return undefined;
}
