/**
 * `restore --dry-run`: what a restore would do to the target, computed without writing. Each
 * file of the selection is new (absent at the target), unchanged (same size and mtime) or
 * replace (anything else there), in snapshot path order.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { TreeId } from '../ids.ts';
import type { Repository } from '../repository/repository.ts';
import { decodeTree, unsafeNodeName } from '../format/tree.ts';
import { toUnixNs } from '../format/go-time.ts';
import type { IncludeMatcher } from './restorer.ts';

export interface PlannedEntry {
  readonly path: string;
  readonly type: string;
  readonly action: 'new' | 'replace' | 'unchanged' | 'refused';
  readonly size: number;
  readonly why?: string;
}

export async function planRestore(repo: Repository, opts: { tree: TreeId; target: string; include?: IncludeMatcher | undefined; inPlace?: boolean }): Promise<PlannedEntry[]> {
  const out: PlannedEntry[] = [];
  const walk = async (tree: TreeId, rel: string): Promise<void> => {
    for (const n of decodeTree(await repo.loadBlob('tree', tree))) {
      const p = (rel === '/' ? '/' : rel + '/') + n.name.toString('utf8');
      const why = unsafeNodeName(n.name);
      if (why) {
        out.push({ path: p, type: n.type, action: 'refused', size: 0, why });
        continue;
      }
      const sel = opts.include ? opts.include.includeMatch(p) : { match: true, childMayMatch: true };
      if (n.type === 'dir' && n.subtree) {
        if (sel.match || sel.childMayMatch) await walk(n.subtree as TreeId, p);
        continue;
      }
      if (!sel.match) continue;
      const abs = opts.inPlace ? p : path.join(opts.target, p);
      let action: PlannedEntry['action'] = 'new';
      try {
        const st = await fsp.lstat(abs, { bigint: true });
        action = n.type === 'file' && st.isFile() && st.size === n.size && st.mtimeNs === toUnixNs(n.mtime) ? 'unchanged' : 'replace';
      } catch {
        /* absent */
      }
      out.push({ path: p, type: n.type, action, size: Number(n.size) });
    }
  };
  await walk(opts.tree, '/');
  return out;
}
