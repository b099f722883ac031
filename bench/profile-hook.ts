/**
 * Preloaded into the API process (`node --import tsx --import ./bench/profile-hook.ts`)
 * only when the bench is asked for a profile. SIGUSR2 starts the V8 CPU profiler;
 * the next SIGUSR2 stops it and writes `<BENCH_PROFILE_OUT>-<n>.cpuprofile` (n = 1, 2, …),
 * so each profile covers exactly one load phase, not startup. The app itself is unchanged.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

const out = process.env.BENCH_PROFILE_OUT;
if (out) {
  const session = new Session();
  session.connect();
  let running = false;
  let busy = false;
  let count = 0;
  process.on('SIGUSR2', () => {
    if (busy) return;
    busy = true;
    void (async () => {
      try {
        if (!running) {
          await session.post('Profiler.enable');
          await session.post('Profiler.setSamplingInterval', { interval: 100 });
          await session.post('Profiler.start');
          running = true;
        } else {
          const { profile } = await session.post('Profiler.stop');
          running = false;
          count += 1;
          const file = `${out}-${count}.cpuprofile`;
          writeFileSync(`${file}.tmp`, JSON.stringify(profile));
          renameSync(`${file}.tmp`, file);
        }
      } catch (error) {
        process.stderr.write(`profile-hook: ${String(error)}\n`);
      } finally {
        busy = false;
      }
    })();
  });
}
