/** Where a binary can come from, in the default order. Kept apart so `lab --help` loads nothing else. */
export type SourceName = 'official' | 'mirror' | 'local' | 'source';
export const ALL_SOURCES: SourceName[] = ['official', 'mirror', 'local', 'source'];
