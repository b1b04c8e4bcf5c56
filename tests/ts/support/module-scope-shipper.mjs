// A Worker's module scope: a FleetShipper over the module-level collector,
// made at import. Nothing may instantiate the WebAssembly yet (a collector
// the user makes does: it checks its options in the core); the first
// update does, with tracking on (tests/ts/platform.test.ts).
const engine = await import('../../../dist/engine.js');
const { metricsCollector } = await import('bounded-services/metrics');
const { FleetShipper } = await import('bounded-services/fleet');
new FleetShipper({ namespace: 'FLEET' });
const atImport = engine.engineGeneration();
for (let i = 1; i <= 10; i++) metricsCollector.recordResponseTime(i);
metricsCollector.toPrometheusFormat(); // records the staged durations
const bytes = metricsCollector.takeDelta('iso', 1, 0, 1, 1 << 20);
// The sketch's count (a varint) is right after the sketch tag; simpler: the
// delta is not empty and the fleet tests check what it carries.
process.stdout.write(JSON.stringify({ atImport, afterUse: engine.engineGeneration(), delta: bytes.length > 0 }));
