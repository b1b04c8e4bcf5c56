// Footprint: .wasm raw / gzip / brotli size, module instantiation time
// (compile + instantiate; cold, each in a fresh process, and warm), package
// size from `npm pack --dry-run --json`.
//   node --import tsx bench/footprint.ts          -> writes parts.tmp/footprint.json
//   node --import tsx bench/footprint.ts --cold   -> one cold measurement (JSON line)
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';
import { measure } from 'mitata';
import { ROOT, pct, writePart, QUICK } from './lib.js';

const WASM = join(ROOT, 'pkg', 'bounded_services_bg.wasm');

async function instantiateOnce(bytes: Uint8Array<ArrayBuffer>): Promise<{ compile_ns: number; instantiate_ns: number }> {
  const glue = (await import('../pkg/bounded_services_bg.js')) as unknown as Record<string, unknown> & {
    __wbg_set_wasm(e: unknown): void;
  };
  const t0 = process.hrtime.bigint();
  const module = new WebAssembly.Module(bytes);
  const t1 = process.hrtime.bigint();
  const instance = new WebAssembly.Instance(module, { './bounded_services_bg.js': glue as unknown as WebAssembly.ModuleImports });
  glue.__wbg_set_wasm(instance.exports);
  (instance.exports.__wbindgen_start as (() => void) | undefined)?.();
  const t2 = process.hrtime.bigint();
  return { compile_ns: Number(t1 - t0), instantiate_ns: Number(t2 - t1) };
}

async function cold(): Promise<void> {
  const bytes = new Uint8Array(readFileSync(WASM));
  console.log(JSON.stringify(await instantiateOnce(bytes)));
}

async function main(): Promise<void> {
  const bytes = new Uint8Array(readFileSync(WASM));
  const gz = gzipSync(bytes, { level: 9 }).length;
  const br = brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
  process.stderr.write(`footprint: .wasm ${bytes.length} B, gzip ${gz} B, brotli ${br} B\n`);

  const runs = QUICK ? 5 : 15;
  const colds: { compile_ns: number; instantiate_ns: number }[] = [];
  for (let i = 0; i < runs; i++) {
    const out = execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'footprint.ts'), '--cold'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    colds.push(JSON.parse(out.trim().split('\n').pop() as string));
  }
  const sortBy = (f: (c: { compile_ns: number; instantiate_ns: number }) => number): number[] => colds.map(f).sort((a, b) => a - b);
  const total = sortBy((c) => c.compile_ns + c.instantiate_ns);
  const comp = sortBy((c) => c.compile_ns);
  const inst = sortBy((c) => c.instantiate_ns);

  // Warm: compile + instantiate again in this process (code caches warm).
  const glue = (await import('../pkg/bounded_services_bg.js')) as unknown as WebAssembly.ModuleImports;
  const warm = (await measure(() => {
    const m = new WebAssembly.Module(bytes);
    return new WebAssembly.Instance(m, { './bounded_services_bg.js': glue });
  }, { min_cpu_time: (QUICK ? 100 : 300) * 1e6 })) as unknown as { p50: number; p99: number };

  let pack: { size: number; unpackedSize: number; entryCount: number; files: { path: string; size: number }[] } | undefined;
  try {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    pack = (JSON.parse(out) as typeof pack[])[0];
  } catch (e) {
    process.stderr.write(`npm pack --dry-run failed: ${(e as Error).message}\n`);
  }
  const result = {
    wasm_bytes: bytes.length,
    wasm_gzip_bytes: gz,
    wasm_brotli_bytes: br,
    instantiate_cold: {
      runs,
      total_ns_p50: pct(total, 50),
      total_ns_min: total[0],
      total_ns_max: total[total.length - 1],
      compile_ns_p50: pct(comp, 50),
      instantiate_ns_p50: pct(inst, 50),
    },
    instantiate_warm: { p50_ns: warm.p50, p99_ns: warm.p99 },
    package: pack
      ? {
          tarball_bytes: pack.size,
          unpacked_bytes: pack.unpackedSize,
          files: pack.entryCount,
          largest: [...pack.files].sort((a, b) => b.size - a.size).slice(0, 5),
        }
      : undefined,
  };
  process.stderr.write(
    `  instantiate cold p50 ${(result.instantiate_cold.total_ns_p50 / 1e3).toFixed(0)} µs, warm ${(warm.p50 / 1e3).toFixed(0)} µs; package ${pack?.size} B\n`,
  );
  writePart('footprint', result);
}

if (process.argv.includes('--cold')) await cold();
else await main();
