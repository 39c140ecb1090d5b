/**
 * Issue 20, timeouts (fault: no request or connection timeout: a client trickling its body
 * held a connection forever, and SIGTERM then never finished draining). Against a real
 * `rampart serve`: a trickled body is cut off at `timeouts.requestMs`, and SIGTERM with a
 * trickling client still open exits within `timeouts.drainMs`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveUntrained, startServe, type ServeProcess } from './serve-process.js';

/** Opens a POST with a 100 kB Content-Length and sends one byte every 200 ms; resolves when the server ends it. */
function trickle(url: string): { socket: Socket; ended: Promise<{ ms: number; response: string }> } {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  const start = Date.now();
  let response = '';
  socket.write(
    `POST /v1/predict HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"inputs":[[`,
  );
  const timer = setInterval(() => socket.writable && socket.write('0'), 200);
  socket.on('data', (c: Buffer) => (response += c.toString()));
  socket.on('error', () => undefined);
  const ended = new Promise<{ ms: number; response: string }>((resolve) =>
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ ms: Date.now() - start, response });
    }),
  );
  return { socket, ended };
}

describe('timeouts (rampart serve)', () => {
  let dir: string;
  const servers: ServeProcess[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rampart-sec-timeouts-'));
    await saveUntrained(join(dir, 'model'), 1, false);
  });

  after(() => servers.forEach((s) => s.kill()));

  test('a trickled request body is cut off at the request timeout', async () => {
    await writeFile(join(dir, 'short.yaml'), 'canary: false\nlayers: { ood: false }\ntimeouts: { requestMs: 1500 }\n');
    const server = await startServe(['--model', join(dir, 'model'), '--config', join(dir, 'short.yaml'), '--log-level', 'warn']);
    servers.push(server);
    const { socket, ended } = trickle(server.url);
    const outcome = await Promise.race([ended, new Promise<undefined>((r) => setTimeout(() => r(undefined), 8000))]);
    socket.destroy();
    assert.ok(outcome, 'the server still held the trickling connection after 8 s');
    assert.ok(outcome.ms < 6000, `cut off after ${outcome.ms} ms`);
    assert.match(outcome.response, /^HTTP\/1\.1 408/);
  });

  test('SIGTERM drains with a deadline: a trickling client does not keep the process alive', async () => {
    await writeFile(join(dir, 'drain.yaml'), 'canary: false\nlayers: { ood: false }\ntimeouts: { requestMs: 60000, drainMs: 1500 }\n');
    const server = await startServe(['--model', join(dir, 'model'), '--config', join(dir, 'drain.yaml'), '--log-level', 'warn']);
    servers.push(server);
    const { socket } = trickle(server.url);
    await new Promise((r) => setTimeout(r, 500));
    const start = Date.now();
    server.proc.kill('SIGTERM');
    const code = await Promise.race([server.exited, new Promise<'running'>((r) => setTimeout(() => r('running'), 8000))]);
    socket.destroy();
    assert.notEqual(code, 'running', 'still running 8 s after SIGTERM');
    assert.equal(code, 0, server.stderr());
    assert.ok(Date.now() - start < 6000);
    assert.match(server.stdout(), /stopped \(SIGTERM, connections closed after 1500 ms\)/);
  });
});
