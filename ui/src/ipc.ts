// The only module that talks to the Rust side. Every wrapper resolves with the
// command's typed result or rejects with an ErrorPayload, nothing else.
import { invoke, type InvokeArgs } from '@tauri-apps/api/core';
import type { ErrorCode } from './bindings/ErrorCode';
import type { ErrorPayload } from './bindings/ErrorPayload';
import type { ImportReport } from './bindings/ImportReport';
import type { ImportRequest } from './bindings/ImportRequest';
import type { PasswordChange } from './bindings/PasswordChange';
import type { Profile } from './bindings/Profile';
import type { ProfileDraft } from './bindings/ProfileDraft';
import type { ServerFacts } from './bindings/ServerFacts';
import type { ToolInventory } from './bindings/ToolInventory';

export function isErrorPayload(value: unknown): value is ErrorPayload {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.code === 'string' && typeof v.message === 'string' && typeof v.hint === 'string';
}

/** Turns any rejection into an ErrorPayload; anything not from the engine is `internal`. */
export function toErrorPayload(error: unknown): ErrorPayload {
  if (isErrorPayload(error)) return error;
  let message: string;
  if (error instanceof Error) message = error.message;
  else if (typeof error === 'string') message = error;
  else {
    try {
      message = JSON.stringify(error) ?? String(error);
    } catch {
      message = String(error);
    }
  }
  const code: ErrorCode = 'internal';
  return {
    code,
    message: message || 'Something went wrong.',
    hint: 'This is unexpected. Try again; if it keeps happening, please report it.',
  };
}

async function call<T>(cmd: string, args?: InvokeArgs): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (error) {
    throw toErrorPayload(error);
  }
}

export const profilesList = (): Promise<Profile[]> => call('profiles_list');

export const profileParse = (input: string): Promise<ProfileDraft> =>
  call('profile_parse', { input });

export const profileAdd = (draft: ProfileDraft, password: string | null): Promise<Profile> =>
  call('profile_add', { draft, password });

export const profileUpdate = (
  name: string,
  draft: ProfileDraft,
  password: PasswordChange,
): Promise<Profile> => call('profile_update', { name, draft, password });

export const profileRemove = (name: string): Promise<null> => call('profile_remove', { name });

export const profileTest = (name: string): Promise<ServerFacts> => call('profile_test', { name });

export const profileImport = (request: ImportRequest): Promise<ImportReport> =>
  call('profile_import', { request });

export const toolsList = (): Promise<ToolInventory> => call('tools_list');
