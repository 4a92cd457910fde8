#!/usr/bin/env node
/**
 * `node lib/server.js [flags]`: the OpenAI-compatible server. A bad command line prints a
 * message and exits with status 2; SIGINT or SIGTERM stops intake, lets requests in flight
 * finish within --shutdown-grace, closes the workers and exits 0. A second signal ends the grace
 * period (requests in flight are aborted, and told so); a third exits at once.
 */
import { createServer, type JourneyServer } from './api/create-server.js';
import { ModelLoadError } from './formats/model-load-error.js';
import { packageVersion } from './api/routes/info.js';
import { inFlagTerms, parseServerConfig, serverOptions, USAGE, UsageError } from './config.js';
import { kernelsLabel } from './engine/engine-config.js';
import { createLogger } from './util/logger.js';

async function main(): Promise<void> {
  let config;
  try {
    config = parseServerConfig(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`journey-llm: ${err.message}\nRun with --help for the options.\n`);
    process.exitCode = 2;
    return;
  }
  if (config === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  if (config === 'version') {
    process.stdout.write(`journey-llm ${packageVersion()}\n`);
    return;
  }
  const logger = createLogger({ level: config.logLevel });
  let server: JourneyServer | undefined;
  let url: string;
  try {
    server = await createServer({ ...serverOptions(config), logger });
    ({ url } = await server.listen());
  } catch (err) {
    // one line a supervisor can show, never a stack; workers already started are stopped
    process.stderr.write(`journey-llm: ${startupProblem(err, config.host, config.port)}\n`);
    process.exitCode = err instanceof RangeError ? 2 : 1;
    await server?.close();
    return;
  }
  let signals = 0;
  const stop = (signal: string) => {
    if (++signals > 2) {
      process.stderr.write(`journey-llm: ${signal} a third time: exiting without waiting\n`);
      process.exit(130);
    }
    if (signals === 2) {
      // a second signal ends the grace period: requests in flight are aborted and get their last bytes
      logger.warn('ending the grace period', { signal });
      void server.close();
      return;
    }
    logger.info('shutting down', { signal, gracePeriodSeconds: config.shutdownGraceSeconds });
    server.close({ gracePeriodMs: config.shutdownGraceSeconds * 1000 }).then(
      () => logger.info('stopped'),
      (err: unknown) => {
        logger.error('shutdown failed', { error: String(err) });
        process.exitCode = 1;
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // the signals are handled before the line says the server listens: a supervisor may act on it at once
  const engine = server.engine;
  logger.info('journey-llm listening', {
    url,
    model: config.model,
    servedModelNames: config.servedModelName,
    workers: engine.numReplicas,
    threadsPerWorker: engine.config.threadsPerWorker,
    kernels: kernelsLabel(engine.config),
    kernelsReason: engine.config.kernelsReason,
    maxModelLen: engine.config.maxModelLen,
    journeyTracing: config.tracing.enabled ? { endpoint: config.tracing.endpoint, sampleRate: config.tracing.sampleRate } : false,
  });
}

/** Why the server could not start, in one line. */
function startupProblem(err: unknown, host: string, port: number): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') return `cannot listen on ${host}:${port}: the address is already in use`;
  if (code === 'EADDRNOTAVAIL' || code === 'EACCES' || code === 'ENOTFOUND') return `cannot listen on ${host}:${port}: ${code}`;
  if (err instanceof ModelLoadError || err instanceof RangeError) return inFlagTerms(err.message);
  return `could not start: ${inFlagTerms(err instanceof Error ? err.message : String(err))}`;
}

main().catch((err: unknown) => {
  process.stderr.write(`journey-llm: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
