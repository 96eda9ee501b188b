// The in-app twin of every error whose hint names a CLI command: the screen where the same
// step is taken, offered beside the error. A test in tideline-core (error.rs) reads this file
// and fails when an engine hint names `tideline …` for a code listed nowhere here.
import type { ErrorCode } from '../bindings/ErrorCode';

export type Twin = { screen: string; label: string };

const TOOLS: Twin = { screen: 'tools', label: 'Open Tools' };
const PROFILES: Twin = { screen: 'profiles', label: 'Open Profiles' };
const BACKUPS: Twin = { screen: 'backups', label: 'Open Backups' };
const WAL: Twin = { screen: 'wal', label: 'Open WAL and base backups' };
const SANDBOXES: Twin = { screen: 'sandboxes', label: 'Open Sandboxes' };
const TIMELINE: Twin = { screen: 'timeline', label: 'Open the Timeline' };
const REPOSITORIES: Twin = { screen: 'settings', label: 'Open Settings → Repositories' };
const REPOSITORY_FOLDER: Twin = { screen: 'settings', label: 'Open Settings → Repository folder' };

export const TWINS: Partial<Record<ErrorCode, Twin>> = {
  tool_missing: TOOLS,
  tool_failed: TOOLS,
  cluster_failed: TOOLS,
  profile_missing: PROFILES,
  password_missing: PROFILES,
  auth_failed: PROFILES,
  access_denied: PROFILES,
  database_missing: PROFILES,
  server_error: PROFILES,
  checksum_mismatch: BACKUPS,
  backup_missing: BACKUPS,
  verify_failed: BACKUPS,
  table_missing: BACKUPS,
  roles_missing: BACKUPS,
  target_not_empty: BACKUPS,
  restore_failed: BACKUPS,
  catalog: BACKUPS,
  target_beyond_wal: WAL,
  target_before_consistency: WAL,
  wal_setup_blocked: WAL,
  wal_foreign_cluster: WAL,
  wal_conflict: WAL,
  sandbox_missing: SANDBOXES,
  sandbox_failed: SANDBOXES,
  server_not_running: SANDBOXES,
  target_invalid: TIMELINE,
  insufficient_space: REPOSITORY_FOLDER,
  repository_missing: REPOSITORIES,
  repository_exists: REPOSITORIES,
  repository_failed: REPOSITORIES,
  repository_key_missing: REPOSITORIES,
  target_timeline_unreachable: TIMELINE,
};
