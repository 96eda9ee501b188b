// Test helpers: a fake Rust side built on Tauri's mockIPC that records every call.
import { mockIPC } from '@tauri-apps/api/mocks';
import type { ErrorPayload } from '../bindings/ErrorPayload';
import type { Profile } from '../bindings/Profile';
import type { ServerFacts } from '../bindings/ServerFacts';

export type Call = { cmd: string; args: Record<string, unknown> };
type Handler = (args: Record<string, unknown>) => unknown;

export function fakeBackend(handlers: Record<string, Handler>) {
  const calls: Call[] = [];
  mockIPC((cmd, payload) => {
    const args = (payload ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args });
    const handler = handlers[cmd];
    if (!handler) return Promise.reject(`unexpected command ${cmd}`);
    return handler(args);
  });
  return {
    calls,
    callsTo: (cmd: string) => calls.filter((c) => c.cmd === cmd).map((c) => c.args),
  };
}

/** What a command returns to make invoke reject with an engine error. */
export const reject = (error: ErrorPayload) => Promise.reject(error);

export function profile(overrides: Partial<Profile> = {}): Profile {
  const name = overrides.name ?? 'prod';
  return {
    id: `id-${name}`,
    name,
    host: 'db.example.com',
    port: 5432,
    database: 'app',
    user: 'alice',
    sslmode: 'prefer',
    sslrootcert: null,
    sslcert: null,
    sslkey: null,
    application_name: null,
    connect_timeout_secs: 10,
    has_password: false,
    created_at: '2025-01-02T03:04:05Z',
    updated_at: '2025-01-02T03:04:05Z',
    ...overrides,
  };
}

export function facts(overrides: Partial<ServerFacts> = {}): ServerFacts {
  return {
    server_version: '17.2 (Debian 17.2-1.pgdg120+1)',
    major: 17,
    current_user: 'alice',
    is_superuser: false,
    can_replicate: true,
    wal_level: 'replica',
    archive_mode: 'off',
    archive_command: '',
    max_wal_senders: 10,
    databases: [
      { name: 'app', size_bytes: 1610612736 },
      { name: 'postgres', size_bytes: 7654321 },
    ],
    round_trip_ms: 3,
    tls: true,
    tested_at: '2025-01-02T03:04:05Z',
    ...overrides,
  };
}
