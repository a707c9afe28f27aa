// Types of ensure-ui.mjs for the TypeScript callers (test setup).
/** Builds ui/dist when it is missing or older than its sources; returns whether it built. */
export function ensureUi(): boolean;
