// Every ```ts sample of the README runs as written: each is written to a
// file inside the package (so `bounded-services` resolves by its name, as
// for a user) and run with Node + tsx; it must exit 0. Samples fenced
// ```ts no-run (a Vite config, a Workers module) are shown, not run.
// Run: node --import tsx --test tests/ts/readme-samples.test.ts

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const dir = new URL('../.readme-samples/', import.meta.url);

/** The ```ts samples (not ```ts no-run), with the line each starts on. */
function samples(): Array<{ line: number; code: string }> {
  const out: Array<{ line: number; code: string }> = [];
  const lines = readme.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== '```ts') continue;
    const start = i + 1;
    const body: string[] = [];
    for (i = start; i < lines.length && lines[i]!.trim() !== '```'; i++) body.push(lines[i]!);
    out.push({ line: start, code: body.join('\n') + '\n' });
  }
  return out;
}

describe('README samples', () => {
  const all = samples();
  it('there are samples to run', () => {
    assert.ok(all.length >= 2, `${all.length} samples`);
  });
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const { line, code } of all) {
    it(`the sample at README.md:${line} runs as written`, () => {
      const file = new URL(`sample-${line}.ts`, dir);
      writeFileSync(file, code);
      try {
        execFileSync(process.execPath, ['--import', 'tsx', file.pathname], { stdio: 'pipe', timeout: 30_000 });
      } catch (e) {
        const err = e as { stderr?: Buffer; stdout?: Buffer };
        assert.fail(`README.md:${line} failed:\n${err.stderr?.toString() ?? ''}${err.stdout?.toString() ?? ''}`);
      }
    });
  }
});
