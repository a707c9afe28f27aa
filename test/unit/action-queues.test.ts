import { describe, expect, it } from 'vitest';
import { actionQueueNames, isActionQueue, retiredActionQueueNames } from '../../src/queue/queues.js';

describe('action queue names', () => {
  it('one partition keeps the plain name; more are numbered from 0', () => {
    expect(actionQueueNames(1)).toEqual(['actions']);
    expect(actionQueueNames(3)).toEqual(['actions-0', 'actions-1', 'actions-2']);
  });

  it('the retired names are every other count’s: `actions` and `actions-0..63` less the current ones', () => {
    const retiredOf1 = retiredActionQueueNames(1);
    expect(retiredOf1).toHaveLength(64);
    expect(retiredOf1).not.toContain('actions');
    expect(retiredOf1.at(-1)).toBe('actions-63');

    expect(retiredActionQueueNames(4)).toEqual([
      'actions',
      ...Array.from({ length: 60 }, (_, i) => `actions-${i + 4}`),
    ]);
    expect(retiredActionQueueNames(64)).toEqual(['actions']);
  });

  it('recognizes action queue names of any count, and nothing else', () => {
    for (const name of ['actions', 'actions-0', 'actions-9', 'actions-63'])
      expect(isActionQueue(name)).toBe(true);
    for (const name of ['actions-64', 'actions-07', 'actions-', 'actions-x', 'triggers', 'wait', 'xactions'])
      expect(isActionQueue(name)).toBe(false);
  });
});
