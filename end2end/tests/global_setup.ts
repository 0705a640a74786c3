import { SHARED_SERVER_LOG_ENV, SHARED_SERVER_PORT, TaskwireServer } from './fixtures/server';

/** Starts the server shared by every spec; the returned function stops it. */
export default async function globalSetup(): Promise<() => Promise<void>> {
  const server = new TaskwireServer({ port: SHARED_SERVER_PORT });
  await server.start();
  process.env[SHARED_SERVER_LOG_ENV] = server.logPath;
  return async () => {
    await server.dispose();
  };
}
