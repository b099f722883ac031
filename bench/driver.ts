/**
 * Load driver, run as its own process so the load generator never shares an
 * event loop with the server under test. Takes one JSON argument (a DriverJob),
 * runs autocannon once, prints one JSON line (a DriverResult) on stdout.
 */
import autocannon from 'autocannon';

export interface DriverJob {
  title: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  connections: number;
  durationSeconds: number;
  /** Every response body must equal this (a mismatch is counted as an error). */
  expectBody?: string;
}

export interface DriverResult {
  title: string;
  durationSeconds: number;
  requestsTotal: number;
  /** Requests written, answered or not: those still in flight when the run stopped are in here, not in requestsTotal. */
  requestsSent: number;
  requestsPerSecondMean: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMeanMs: number;
  latencyMaxMs: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  mismatches: number;
  statusCodes: Record<string, number>;
  /** CPU used by this driver process during the run, as % of one core. */
  driverCpuPercent: number;
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '') as DriverJob;
  const host = new URL(job.url).hostname;
  if (host !== '127.0.0.1') throw new Error(`bench traffic must target 127.0.0.1, not ${host}`);

  const cpuBefore = process.cpuUsage();
  const wallBefore = process.hrtime.bigint();
  const result = await autocannon({
    title: job.title,
    url: job.url,
    method: 'POST',
    headers: job.headers,
    body: job.body,
    connections: job.connections,
    duration: job.durationSeconds,
    timeout: 10,
    expectBody: job.expectBody,
  });
  const wallSeconds = Number(process.hrtime.bigint() - wallBefore) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);

  const output: DriverResult = {
    title: job.title,
    durationSeconds: result.duration,
    requestsTotal: result['2xx'] + result.non2xx,
    requestsSent: result.requests.sent,
    requestsPerSecondMean: result.requests.mean,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    latencyMeanMs: result.latency.mean,
    latencyMaxMs: result.latency.max,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    mismatches: result.mismatches,
    statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count])),
    driverCpuPercent: ((cpu.user + cpu.system) / 1e6 / wallSeconds) * 100,
  };
  process.stdout.write(`${JSON.stringify(output)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`driver: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
