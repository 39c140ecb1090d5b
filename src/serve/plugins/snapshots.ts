/**
 * Writes a metrics snapshot to the registry every `everyMs` (default 30 s) when the server
 * was given a registry directory (`--registry`), on a timer: nothing on the request path.
 * A failed write is logged and retried at the next tick, never fatal to serving.
 */
import type { FastifyInstance } from 'fastify';
import { SnapshotStore, collectSnapshot } from '../snapshots.js';
import { servePlugin } from './plugin.js';

export const snapshotsPlugin = servePlugin('rampart-snapshots', { decorators: ['serveCore'] }, async (app: FastifyInstance) => {
  const { options, metrics, holder, log } = app.serveCore;
  const settings = options.snapshots;
  if (!settings) return;
  const store = new SnapshotStore(settings.dir);
  let writing = false;
  const tick = async (): Promise<void> => {
    if (writing) return;
    writing = true;
    try {
      store.write(await collectSnapshot(metrics, holder.current.view.id));
    } catch (error) {
      log.warn({ event: 'snapshot-failed', error: String(error) }, 'metrics snapshot not written');
    } finally {
      writing = false;
    }
  };
  const timer = options.timers === false ? undefined : setInterval(() => void tick(), settings.everyMs ?? 30_000);
  timer?.unref();
  app.addHook('onReady', tick);
  app.addHook('onClose', async () => {
    if (timer) clearInterval(timer);
    await tick();
    store.close();
  });
});
