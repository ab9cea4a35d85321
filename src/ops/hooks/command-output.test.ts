import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commandOutput } from './command-output.ts';
import { LifeboatError } from '../../core/errors.ts';

async function collect(it: AsyncIterable<Uint8Array>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(Buffer.from(c));
  return Buffer.concat(parts).toString();
}

test('a command source yields the command stdout', async () => {
  assert.equal(await collect(commandOutput('db', ['/bin/sh', '-c', 'printf "a\\nb\\n"; echo err >&2'])), 'a\nb\n');
});

test('a command that exits non-zero fails the stream with its stderr, after its output', async () => {
  await assert.rejects(collect(commandOutput('db', ['/bin/sh', '-c', 'echo partial; echo "pg_dumpall: connection refused" >&2; exit 3'])), (e: unknown) => {
    return e instanceof LifeboatError && /exit code 3/.test(e.message) && /connection refused/.test(e.message);
  });
});

test('a failing command and one that cannot start are HOOK_FAILED, so a run can tell a broken dump from a broken disk', async () => {
  await assert.rejects(collect(commandOutput('db', ['/bin/sh', '-c', 'exit 3'])), (e: unknown) => e instanceof LifeboatError && e.code === 'HOOK_FAILED');
  await assert.rejects(collect(commandOutput('db', ['/nonexistent/pg_dumpall'])), (e: unknown) => e instanceof LifeboatError && e.code === 'HOOK_FAILED' && /Cannot run the command of source db/.test(e.message));
});

test('a command that is not found fails', async () => {
  await assert.rejects(collect(commandOutput('db', ['/bin/sh', '-c', 'definitely-not-a-command-xyz'])), LifeboatError);
});
