// The two independent parsers the exposition tests check Prometheus text
// with: Python's prometheus_client (its parser, fed on stdin) and promtool
// (`promtool check metrics`: exit 0, or 3 with lint remarks only). Both come
// from scripts/setup.sh; a missing tool is reported so its tests skip with
// the reason, never pass silently.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const PY_PARSE = `
import sys, json
from prometheus_client.parser import text_string_to_metric_families
text = sys.stdin.buffer.read().decode('utf-8')
out = []
for f in text_string_to_metric_families(text):
    out.append({'name': f.name, 'type': f.type, 'help': f.documentation,
                'samples': [[s.name, s.labels, repr(float(s.value))] for s in f.samples]})
sys.stdout.write(json.dumps(out, ensure_ascii=True))
`;

function pythonMissing(): string | undefined {
  const r = spawnSync('python3', ['-c', 'import prometheus_client.parser'], { encoding: 'utf8' });
  if (r.error) return `python3 not runnable (${r.error.message}); scripts/setup.sh installs it`;
  if (r.status !== 0) return `prometheus_client missing (python3 -m pip install prometheus_client==0.26.0): ${r.stderr.trim().split('\n').pop()}`;
  return undefined;
}

function promtoolMissing(): string | undefined {
  const r = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  if (r.error) return `promtool not runnable (${r.error.message}); apt-get install prometheus (scripts/setup.sh)`;
  return undefined;
}

export const NO_PYTHON = pythonMissing();
export const NO_PROMTOOL = promtoolMissing();
if (NO_PYTHON) console.log(`SKIPPING the prometheus_client checks: ${NO_PYTHON}`);
if (NO_PROMTOOL) console.log(`SKIPPING the promtool checks: ${NO_PROMTOOL}`);

export interface ParsedFamily {
  name: string;
  type: string;
  help: string;
  samples: Array<[string, Record<string, string>, string]>;
}

export function pyParse(text: string): ParsedFamily[] {
  const r = spawnSync('python3', ['-c', PY_PARSE], { input: Buffer.from(text, 'utf8'), maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, `prometheus_client failed to parse:\n${r.stderr.toString()}`);
  return JSON.parse(r.stdout.toString('utf8')) as ParsedFamily[];
}

export function pyNumber(repr: string): number {
  if (repr === 'inf') return Infinity;
  if (repr === '-inf') return -Infinity;
  if (repr === 'nan') return NaN;
  return Number(repr);
}

/** `name{k="v",...}` with labels sorted, unescaped: a map key for samples. */
export function sampleKey(name: string, labels: Record<string, string>): string {
  return JSON.stringify([name, Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))]);
}

export function pySamples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const f of pyParse(text)) {
    for (const [n, labels, v] of f.samples) {
      const k = sampleKey(n, labels);
      assert.ok(!out.has(k), `duplicate sample ${k}`);
      out.set(k, pyNumber(v));
    }
  }
  return out;
}

/** Remarks promtool's linter may make (exit 3) without the text being invalid. */
export const LINT_REMARK =
  /^[a-zA-Z_:][a-zA-Z0-9_:]* (no help text|metric names should not contain abbreviated units|counter metrics should have "_total" suffix|non-counter metrics should not have "_total" suffix|non-histogram and non-summary metrics should not have "_(sum|count|bucket)" suffix|metric names should be written in 'snake_case' not 'camelCase'|label names should be written in 'snake_case' not 'camelCase'|metric names? should not include type '[a-z]+')$/;

export function promtoolCheck(text: string): void {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: Buffer.from(text, 'utf8'), maxBuffer: 1 << 28 });
  const out = `${r.stdout.toString()}${r.stderr.toString()}`;
  assert.ok(r.status === 0 || r.status === 3, `promtool exit ${r.status} (1 = parse error):\n${out.slice(0, 2000)}`);
  if (r.status === 3) {
    const lines = out.split('\n').filter((l) => l.trim() !== '');
    assert.ok(lines.length > 0);
    for (const l of lines) assert.match(l, LINT_REMARK, 'only lint remarks');
  }
}

