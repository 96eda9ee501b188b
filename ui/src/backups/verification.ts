import type { BackupRecord } from '../bindings/BackupRecord';

export type Verification = 'passed' | 'failed' | 'unverified';

export function verification(record: Pick<BackupRecord, 'verify_status'>): Verification {
  const s = record.verify_status;
  return s === 'passed' || s === 'failed' ? s : 'unverified';
}
