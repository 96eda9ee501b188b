// Providers' S3 settings, so a user fills in a bucket and a key rather than an endpoint's
// spelling. ACCOUNT and REGION in an endpoint are the user's own.
import type { RequestedPlace } from '../bindings/RequestedPlace';

export type Preset = {
  id: string;
  label: string;
  /** A folder on this computer rather than a bucket. */
  folder?: boolean;
  endpoint: string;
  region: string;
  pathStyle: boolean;
  /** What to replace in the endpoint, said beside the field. */
  note?: string;
};

export const PRESETS: Preset[] = [
  { id: 'aws', label: 'Amazon S3', endpoint: '', region: 'us-east-1', pathStyle: false, note: 'Give the bucket’s region.' },
  {
    id: 'r2',
    label: 'Cloudflare R2',
    endpoint: 'https://ACCOUNT.r2.cloudflarestorage.com',
    region: 'auto',
    pathStyle: true,
    note: 'ACCOUNT is the account id in the R2 dashboard.',
  },
  {
    id: 'b2',
    label: 'Backblaze B2',
    endpoint: 'https://s3.us-west-004.backblazeb2.com',
    region: 'us-west-004',
    pathStyle: false,
    note: 'The bucket’s endpoint is on its page in B2.',
  },
  {
    id: 'hetzner',
    label: 'Hetzner Object Storage',
    endpoint: 'https://fsn1.your-objectstorage.com',
    region: 'fsn1',
    pathStyle: false,
    note: 'fsn1, nbg1 or hel1: the bucket’s location.',
  },
  { id: 'wasabi', label: 'Wasabi', endpoint: 'https://s3.us-east-1.wasabisys.com', region: 'us-east-1', pathStyle: false },
  { id: 'garage', label: 'Garage', endpoint: 'http://127.0.0.1:3900', region: 'garage', pathStyle: true },
  { id: 'minio', label: 'MinIO', endpoint: 'http://127.0.0.1:9000', region: 'us-east-1', pathStyle: true },
  { id: 'folder', label: 'A folder on this computer', folder: true, endpoint: '', region: '', pathStyle: false },
];

export type RepositoryDraft = {
  name: string;
  url: string;
  endpoint: string;
  region: string;
  pathStyle: boolean;
  accessKeyId: string;
  folder: string;
};

/** The place the form describes, as the engine takes it. */
export function placeOf(preset: Preset, d: RepositoryDraft): RequestedPlace {
  if (preset.folder) return { kind: 'dir', path: d.folder.trim() };
  return {
    kind: 's3',
    url: d.url.trim(),
    endpoint: d.endpoint.trim() || null,
    region: d.region.trim(),
    path_style: d.pathStyle,
    access_key_id: d.accessKeyId.trim(),
  };
}
