/* global process, Buffer, console, URL, setTimeout */
// The load generator bench/serve.ts runs in a child process (see bench/load.ts), so it never
// shares the server's event loop. Each request is timed with process.hrtime from dispatch to
// the last byte of its response, so latencies keep sub-millisecond resolution (autocannon
// reports whole milliseconds, and at a p99 of ~13 ms one millisecond is 7%).
//   closed: `connections` clients each send the next request as soon as the last one answered
//           (saturation: latency is mostly queueing behind the other connections).
//   open:   requests leave on a fixed schedule (`rate` per second) whatever the answers do,
//           over up to `connections` sockets; each request is timed from when it was sent, and
//           how late the generator sent it (its own lag) is reported beside.
// Reads one JSON options object on stdin, writes one JSON result on stdout.
import http from 'node:http';

const chunks = [];
process.stdin.on('data', (c) => chunks.push(c));
process.stdin.on('end', () => {
  run(JSON.parse(Buffer.concat(chunks).toString('utf8'))).then(
    (result) => process.stdout.write(JSON.stringify(result)),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
});

const now = () => Number(process.hrtime.bigint()) / 1e6;

function quantile(sorted, q) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

async function run(o) {
  const url = new URL(o.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.connections });
  const requests = o.requests.map((r) => ({ ...r, bytes: Buffer.from(r.body) }));
  const latencies = [];
  const lags = [];
  const statuses = {};
  let errors = 0;
  let next = 0;
  let inFlight = 0;
  let dropped = 0;

  const send = (start) =>
    new Promise((resolve) => {
      const r = requests[next++ % requests.length];
      inFlight++;
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          method: r.method,
          path: r.path,
          agent,
          headers: { ...r.headers, 'content-length': r.bytes.length },
        },
        (res) => {
          res.on('data', () => {});
          res.on('end', () => {
            latencies.push(now() - start);
            statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
            inFlight--;
            resolve();
          });
        },
      );
      req.on('error', () => {
        errors++;
        inFlight--;
        resolve();
      });
      req.end(r.bytes);
    });

  const started = now();
  const end = started + o.duration * 1000;
  if (o.mode === 'closed') {
    const client = async () => {
      while (now() < end) await send(now());
    };
    await Promise.all(Array.from({ length: o.connections }, client));
  } else {
    // A millisecond timer, sending every request whose time has come: at the rates the bench
    // offers (hundreds per second) that is a few per tick, each timed from its own dispatch.
    const interval = 1000 / o.rate;
    let due = started;
    const pending = [];
    await new Promise((resolve) => {
      const tick = () => {
        const t = now();
        while (due <= t && due < end) {
          // A bound on what the generator holds: past it the server is not keeping up at all.
          if (inFlight >= o.maxInFlight) dropped++;
          else {
            lags.push(t - due);
            pending.push(send(now()));
          }
          due += interval;
        }
        if (due >= end) return resolve();
        setTimeout(tick, Math.max(0, Math.min(1, due - now())));
      };
      tick();
    });
    await Promise.all(pending);
  }
  const elapsed = (now() - started) / 1000;
  agent.destroy();
  const sorted = Float64Array.from(latencies).sort();
  const lagSorted = Float64Array.from(lags).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    mode: o.mode,
    seconds: elapsed,
    completed: sorted.length,
    rps: sorted.length / elapsed,
    errors,
    dropped,
    statuses,
    latencyMs: {
      mean: sorted.length ? sum / sorted.length : 0,
      p50: quantile(sorted, 0.5),
      p90: quantile(sorted, 0.9),
      p99: quantile(sorted, 0.99),
      p999: quantile(sorted, 0.999),
      max: sorted.length ? sorted[sorted.length - 1] : 0,
    },
    ...(o.mode === 'open' ? { offeredRate: o.rate, dispatchLagMs: { p50: quantile(lagSorted, 0.5), p99: quantile(lagSorted, 0.99) } } : {}),
  };
}
