/**
 * The `backtest` scenario: how long the worker's simulation of one backtest
 * takes (src/modules/strategies/backtest-simulation.ts), in this process — it
 * is a pure function, so nothing else would be measured by a server around it.
 *
 * Ten years of daily prices at the far end of the dates a backtest may cover
 * (2090–2100: the longest walk of the series, which starts in 1960) and in the
 * middle (2015–2025), with the slowest windows (fast 499, slow 500) and typical
 * ones (20/50). The same-run reference is the price series alone (dailyPrices
 * over the same days), so the table shows what the crossover adds to it.
 * Target: a decade well under 100 ms (PASS below 10 ms, the median of the worst case).
 */
import { dailyPrices, seriesDay, simulateBacktest } from '../src/modules/strategies/backtest-simulation.js';
import { envPositiveNumber, machineSummary, median, table } from './lib.js';

const TARGET_MS = 10;

function timed(run: () => unknown, runs: number): { medianMs: number; p99Ms: number } {
  for (let i = 0; i < 20; i++) run();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    run();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { medianMs: median(times), p99Ms: times[Math.min(times.length - 1, Math.floor(times.length * 0.99))]! };
}

export async function run(): Promise<void> {
  const runs = envPositiveNumber('BENCH_RUNS', 300);
  const cases = [
    { name: '2090–2100, 499/500', from: '2090-01-01', to: '2100-01-01', fast: 499, slow: 500 },
    { name: '2090–2100, 20/50', from: '2090-01-01', to: '2100-01-01', fast: 20, slow: 50 },
    { name: '2015–2025, 20/50', from: '2015-01-01', to: '2025-01-01', fast: 20, slow: 50 },
  ];
  const rows = [['case', 'simulation median ms', 'p99 ms', 'price series alone median ms', 'crossover share']];
  let worst = 0;
  for (const c of cases) {
    const from = new Date(`${c.from}T00:00:00Z`);
    const to = new Date(`${c.to}T00:00:00Z`);
    let asset = 0;
    const simulation = timed(
      () => simulateBacktest({ asset: `A${asset++ % 1000}`, fastWindow: c.fast, slowWindow: c.slow, from, to }),
      runs,
    );
    const series = timed(() => dailyPrices(`A${asset++ % 1000}`, seriesDay(from) - (c.slow - 1), seriesDay(to)), runs);
    worst = Math.max(worst, simulation.medianMs);
    rows.push([
      c.name,
      simulation.medianMs.toFixed(2),
      simulation.p99Ms.toFixed(2),
      series.medianMs.toFixed(2),
      `${Math.max(0, (1 - series.medianMs / simulation.medianMs) * 100).toFixed(0)}%`,
    ]);
  }
  const machine = machineSummary();
  process.stdout.write(`\nbacktest simulation, ${runs} runs per case (${machine.cpus} × ${machine.cpuModel}, node ${machine.node})\n`);
  process.stdout.write(`${table(rows)}\n`);
  process.stdout.write(
    `${worst < TARGET_MS ? 'PASS' : 'MISS'}: a decade in ${worst.toFixed(2)} ms at the median of the worst case (target < ${TARGET_MS} ms, "well under 100 ms")\n`,
  );
}
