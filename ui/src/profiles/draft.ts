import type { Profile } from '../bindings/Profile';
import type { ProfileDraft } from '../bindings/ProfileDraft';
import type { SslMode } from '../bindings/SslMode';

export const SSL_MODES: SslMode[] = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full'];

export function emptyDraft(): ProfileDraft {
  return {
    name: '',
    host: 'localhost',
    port: 5432,
    database: 'postgres',
    user: 'postgres',
    sslmode: 'prefer',
    sslrootcert: null,
    sslcert: null,
    sslkey: null,
    application_name: null,
    connect_timeout_secs: 10,
  };
}

export function draftOf(profile: Profile): ProfileDraft {
  return {
    name: profile.name,
    host: profile.host,
    port: profile.port,
    database: profile.database,
    user: profile.user,
    sslmode: profile.sslmode,
    sslrootcert: profile.sslrootcert,
    sslcert: profile.sslcert,
    sslkey: profile.sslkey,
    application_name: profile.application_name,
    connect_timeout_secs: profile.connect_timeout_secs,
  };
}

/** "user@host:port/database", as shown in the list. */
export function describe(p: Pick<Profile, 'user' | 'host' | 'port' | 'database'>): string {
  return `${p.user}@${p.host}:${p.port}/${p.database}`;
}
