// Sandboxes in words, for the list: what they were recovered to, and which tables differ.
import type { RecoveryTarget } from '../bindings/RecoveryTarget';
import type { TableComparison } from '../bindings/TableComparison';
import { formatTimestamp } from '../format';

export function describeTarget(target: RecoveryTarget): string {
  const p = target.point;
  let text: string;
  switch (p.kind) {
    case 'immediate':
      return `end of the base backup, ${target.timeline === null ? 'newest timeline' : `timeline ${target.timeline}`}`;
    case 'time':
      text = `time ${formatTimestamp(p.value)}`;
      break;
    case 'name':
      text = `restore point “${p.value}”`;
      break;
    case 'xid':
      text = `transaction ${p.value}`;
      break;
    case 'lsn':
      text = `LSN ${p.value}`;
      break;
    case 'before_event':
      return `just before event ${p.value}`;
  }
  const edge = target.exclusive ? 'just before' : 'including';
  const timeline = target.timeline === null ? 'newest timeline' : `timeline ${target.timeline}`;
  return `${text} (${edge} it), ${timeline}`;
}

/** A table whose row counts differ, or that exists on one side only. */
export function differs(t: TableComparison): boolean {
  return t.sandbox_rows !== t.live_rows;
}
