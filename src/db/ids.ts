import { randomUUID } from 'node:crypto';

/** Prefixed random ids: the prefix says what the id names when it shows up in a log. */
export const newId = (prefix: string): string => `${prefix}_${randomUUID().replace(/-/g, '')}`;
