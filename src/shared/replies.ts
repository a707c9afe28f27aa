// Shapes of Redis replies that scripts return as they are (a script's HGETALL comes back as a flat array).

/** A flat `[field, value, field, value, ...]` reply (HGETALL inside a script) as an object. */
export function fromFlatPairs(flat: readonly string[]): Record<string, string> {
  const object: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) object[flat[i]!] = flat[i + 1]!;
  return object;
}
