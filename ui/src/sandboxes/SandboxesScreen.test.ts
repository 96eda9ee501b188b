import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import type { CopyBackReport } from '../bindings/CopyBackReport';
import { comparison, fakeBackend, profile, reject, sandbox } from '../testing/backend';
import SandboxesScreen from './SandboxesScreen.svelte';

const report: CopyBackReport = {
  id: 'sb1',
  tables: [{ source: 'public.orders', target: 'public.orders', rows: 1200, how: 'replaced' }],
};

function button(testid: string): HTMLButtonElement {
  return screen.getByTestId(testid) as HTMLButtonElement;
}

describe('Sandboxes screen', () => {
  it('lists sandboxes with their state, and stops and removes them', async () => {
    const backend = fakeBackend({
      sandboxes_list: () => [
        sandbox({ id: 'sb1', page_checksums: { pages_verified: 12345, pages_skipped: 3 } }),
        sandbox({ id: 'sb2', status: 'stopped', port: 54322 }),
      ],
      sandbox_stop: (args) => sandbox({ id: args.id as string, status: 'stopped' }),
      sandbox_remove: () => null,
    });
    render(SandboxesScreen);
    const row = await screen.findByTestId('sandbox-row-sb1');
    expect(row.dataset.status).toBe('running');
    expect(row.textContent).toContain('PostgreSQL 17, port 54321');
    expect(row.textContent).toContain('0/5123456');
    expect(row.textContent).toContain('transaction 1234');
    expect(row.textContent).toContain('4.2 s to lay down, 1.8 s to replay');
    expect(within(row).getByTestId('page-checksums').textContent).toBe('12,345 pages verified before the start');
    // A cluster without data checksums says nothing about them.
    expect(within(screen.getByTestId('sandbox-row-sb2')).queryByTestId('page-checksums')).toBeNull();
    expect(screen.getByTestId('sandbox-url-sb1').textContent).toBe('postgresql://alice@localhost:54321/app');
    expect(button('sandbox-start-sb1').disabled).toBe(true);
    expect(button('sandbox-stop-sb2').disabled).toBe(true);
    expect(button('sandbox-start-sb2').disabled).toBe(false);

    await fireEvent.click(button('sandbox-stop-sb1'));
    await waitFor(() => expect(screen.getByTestId('sandbox-row-sb1').dataset.status).toBe('stopped'));
    expect(backend.callsTo('sandbox_stop')).toEqual([{ id: 'sb1' }]);

    // Remove asks first; Keep backs out.
    await fireEvent.click(button('sandbox-remove-sb2'));
    await fireEvent.click(button('sandbox-remove-cancel-sb2'));
    expect(backend.callsTo('sandbox_remove')).toEqual([]);
    await fireEvent.click(button('sandbox-remove-sb2'));
    await fireEvent.click(button('sandbox-remove-confirm-sb2'));
    await waitFor(() => expect(screen.queryByTestId('sandbox-row-sb2')).toBeNull());
    expect(backend.callsTo('sandbox_remove')).toEqual([{ id: 'sb2' }]);
  });

  it("copies a restore sandbox's password from the keychain; a recovered one names the source's", async () => {
    let copied = '';
    Object.defineProperty(navigator, 'clipboard', {
      value: { writeText: async (text: string) => void (copied = text) },
      configurable: true,
    });
    const backend = fakeBackend({
      sandboxes_list: () => [sandbox({ id: 'sb1' }), sandbox({ id: 'sb2', kind: 'restore' })],
      sandbox_password: () => 'random-secret',
    });
    render(SandboxesScreen);
    expect((await screen.findByTestId('sandbox-login-sb1')).textContent).toContain('had on the source');
    expect(screen.queryByTestId('sandbox-copy-password-sb1')).toBeNull();
    expect(screen.getByTestId('sandbox-login-sb2').textContent).not.toContain('random-secret');
    await fireEvent.click(button('sandbox-copy-password-sb2'));
    await waitFor(() => expect(copied).toBe('random-secret'));
    expect(backend.callsTo('sandbox_password')).toEqual([{ id: 'sb2' }]);
    await waitFor(() => expect(screen.getByTestId('sandbox-login-sb2').textContent).toContain('Copied.'));
  });

  it('compares with live and copies back with replace only once confirmed', async () => {
    const backend = fakeBackend({
      sandboxes_list: () => [sandbox({ id: 'sb1' })],
      profiles_list: () => [profile({ name: 'prod' }), profile({ name: 'staging' })],
      sandbox_compare: () => comparison(),
      sandbox_copy_back: () => report,
    });
    render(SandboxesScreen);
    await fireEvent.click(await screen.findByTestId('sandbox-compare-sb1'));
    const table = await screen.findByTestId('comparison-table');
    expect(backend.callsTo('sandbox_compare')).toEqual([{ id: 'sb1' }]);
    expect(screen.getByTestId('comparison-summary').textContent).toContain('2 of 3 tables differ');
    // Only the tables that differ, ticked where the sandbox has them; the rest on request.
    let rows = within(table).getAllByTestId('comparison-row');
    expect(rows.map((r) => [r.dataset.name, r.dataset.differs])).toEqual([
      ['public.orders', 'true'],
      ['public.audit', 'true'],
    ]);
    expect(rows[1].textContent).toContain('no such table');
    const ticked = () =>
      within(table)
        .getAllByTestId('comparison-pick')
        .filter((c) => (c as HTMLInputElement).checked)
        .map((c) => (c as HTMLInputElement).value);
    expect(ticked()).toEqual(['public.orders']);
    await fireEvent.click(screen.getByTestId('comparison-show-all'));
    rows = within(table).getAllByTestId('comparison-row');
    expect(rows.map((r) => r.dataset.name)).toEqual(['public.orders', 'public.audit', 'public.customers']);

    await waitFor(() => expect((screen.getByTestId('copy-back-profile') as HTMLSelectElement).value).toBe('prod'));
    await fireEvent.click(screen.getByTestId('copy-mode-replace'));
    expect(button('copy-back-submit').disabled).toBe(true);
    await fireEvent.click(screen.getByTestId('copy-confirm'));
    expect(button('copy-back-submit').disabled).toBe(false);
    await fireEvent.click(button('copy-back-submit'));

    const result = await screen.findByTestId('copy-back-report');
    expect(result.textContent).toContain('rows replaced');
    // Counted again afterwards; the form is back to its safe default, nothing armed.
    await waitFor(() => expect(backend.callsTo('sandbox_compare')).toHaveLength(2));
    await waitFor(() => expect((screen.getByTestId('copy-mode-new') as HTMLInputElement).checked).toBe(true));
    expect(screen.queryByTestId('copy-confirm')).toBeNull();
    expect(screen.getByTestId('copy-back-done').textContent).toContain('counted again');
    expect(backend.callsTo('sandbox_copy_back')).toEqual([
      {
        id: 'sb1',
        request: { tables: ['public.orders'], to_profile: 'prod', as_name: null, replace: true, confirmed: true },
      },
    ]);
  });

  it('copies one table as a new one under a chosen name, showing engine errors', async () => {
    let attempt = 0;
    const backend = fakeBackend({
      sandboxes_list: () => [sandbox({ id: 'sb1' })],
      profiles_list: () => [profile({ name: 'prod' })],
      sandbox_compare: () => comparison(),
      sandbox_copy_back: () =>
        attempt++ === 0
          ? reject({ code: 'confirmation_required', message: 'Replacing needs confirmation.', hint: 'Tick the box.' })
          : { id: 'sb1', tables: [{ source: 'public.orders', target: 'public.orders_old', rows: 1200, how: 'new_table' }] },
    });
    render(SandboxesScreen);
    await fireEvent.click(await screen.findByTestId('sandbox-compare-sb1'));
    await screen.findAllByTestId('comparison-row');
    await fireEvent.input(screen.getByTestId('copy-as-name'), { target: { value: 'orders_old' } });
    await fireEvent.click(button('copy-back-submit'));
    const error = await screen.findByTestId('error');
    expect(error.dataset.code).toBe('confirmation_required');
    expect(screen.getByTestId('error-hint').textContent).toBe('Tick the box.');

    await fireEvent.click(button('copy-back-submit'));
    expect((await screen.findByTestId('copy-back-report')).textContent).toContain('public.orders_old');
    expect(backend.callsTo('sandbox_copy_back')[1].request).toEqual({
      tables: ['public.orders'],
      to_profile: 'prod',
      as_name: 'orders_old',
      replace: false,
      confirmed: false,
    });
  });

  it('shows an empty list', async () => {
    fakeBackend({ sandboxes_list: () => [] });
    render(SandboxesScreen);
    expect(await screen.findByTestId('sandboxes-empty')).toBeTruthy();
  });

  it('shows why the list could not be read', async () => {
    fakeBackend({ sandboxes_list: () => reject({ code: 'catalog', message: 'The catalog is locked.', hint: 'Close the other Tideline.' }) });
    render(SandboxesScreen);
    expect((await screen.findByTestId('error')).dataset.code).toBe('catalog');
    expect(screen.getByTestId('error-hint').textContent).toBe('Close the other Tideline.');
  });
});
