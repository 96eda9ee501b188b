import { describe, expect, it } from 'vitest';
import { planEntries, planSentence } from './restoreForm';

const LIST = [
  ';',
  '; Archive created at 2026-12-06 04:35:24 UTC',
  '4; 0 0 ENCODING - ENCODING',
  '5; 0 0 STDSTRINGS - STDSTRINGS',
  '6; 0 0 SEARCHPATH - SEARCHPATH',
  '3; 2615 2200 SCHEMA - public pg_database_owner',
  '215; 1259 16385 TABLE public actor app_owner',
  '216; 1259 16386 TABLE public film app_owner',
  '214; 1259 16384 SEQUENCE public actor_actor_id_seq app_owner',
  '3400; 0 16385 TABLE DATA public actor app_owner',
  '3401; 0 16386 TABLE DATA public film app_owner',
  '3407; 0 0 SEQUENCE SET public actor_actor_id_seq app_owner',
  '3250; 2606 16390 CONSTRAINT public actor actor_pkey app_owner',
  '3251; 1259 16391 INDEX public idx_actor_last_name reporting',
  '3252; 1259 16392 INDEX public idx_film_title app_owner',
];

describe('the restore check in words', () => {
  it('counts what is restored and whose it is, not the session settings', () => {
    expect(planEntries(LIST)).toBe(13);
    expect(planSentence(LIST)).toBe(
      'Restores 2 tables with their data, 2 indexes, 1 constraint, 1 sequence and 1 schema, owned by app_owner and reporting.',
    );
  });

  it('says when only part of the data comes, or nothing at all', () => {
    expect(planSentence(LIST.filter((l) => !l.includes('DATA public film')))).toContain('2 tables (data of 1)');
    expect(planSentence(['3400; 0 16385 TABLE DATA public actor app_owner'])).toBe('Restores the data of 1 table.');
    expect(planSentence(LIST.slice(0, 5))).toBe('Restores nothing but session settings.');
  });
});
