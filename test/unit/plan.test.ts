import { describe, expect, it } from 'vitest';
import { armCount, armOf, compile, pickVariant, planNext } from '../../src/engine/plan.js';
import { compiled, definition, edge, node, nodeOf } from './builders.js';

/** start → outer ⇉ (inner ⇉ (x, y) → innerDone, z) → outerDone → end */
const nested = () =>
  compiled(
    [
      node.trigger('start'),
      node.parallel('outer'),
      node.parallel('inner'),
      node.tag('x'),
      node.tag('y'),
      node.join('innerDone', 'inner'),
      node.tag('z'),
      node.join('outerDone', 'outer'),
      node.tag('end'),
    ],
    [
      edge('start', 'outer'),
      edge('outer', 'inner'),
      edge('outer', 'z'),
      edge('inner', 'x'),
      edge('inner', 'y'),
      edge('x', 'innerDone'),
      edge('y', 'innerDone'),
      edge('innerDone', 'outerDone'),
      edge('z', 'outerDone'),
      edge('outerDone', 'end'),
    ],
  );

describe('compile', () => {
  it('indexes nodes by id, groups outgoing edges in definition order and lists the triggers', () => {
    // Arrange
    const source = definition(
      [
        node.trigger('lead'),
        node.branch('check'),
        node.tag('yes'),
        node.tag('no'),
        node.trigger('form', 'form_submitted'),
      ],
      [
        edge('lead', 'check'),
        edge('check', 'no', 'false'),
        edge('form', 'check'),
        edge('check', 'yes', 'true'),
      ],
    );

    // Act
    const workflow = compile(source);

    // Assert
    expect(workflow.definition).toBe(source);
    expect([...workflow.nodes.keys()]).toEqual(['lead', 'check', 'yes', 'no', 'form']);
    expect(workflow.outgoing.get('check')).toEqual([
      edge('check', 'no', 'false'),
      edge('check', 'yes', 'true'),
    ]);
    expect(workflow.outgoing.get('yes')).toBeUndefined();
    expect(workflow.triggers.map((t) => t.id)).toEqual(['lead', 'form']);
  });
});

describe('planNext', () => {
  it('follows the single edge out of a trigger or an action, keeping the arm stack', () => {
    // Arrange
    const workflow = compiled(
      [node.trigger('start'), node.email('hello'), node.tag('done')],
      [edge('start', 'hello'), edge('hello', 'done')],
    );
    const arms = ['fan.1'];

    // Act
    const afterTrigger = planNext(workflow, nodeOf(workflow, 'start'), {}, []);
    const afterEmail = planNext(workflow, nodeOf(workflow, 'hello'), { output: { id: 'm1' } }, arms);

    // Assert
    expect(afterTrigger).toEqual([{ nodeId: 'hello', arms: [] }]);
    expect(afterEmail).toEqual([{ nodeId: 'done', arms: ['fan.1'] }]);
  });

  it('plans nothing after the last node', () => {
    // Arrange
    const workflow = compiled([node.trigger('start'), node.tag('done')], [edge('start', 'done')]);

    // Act + Assert
    expect(planNext(workflow, nodeOf(workflow, 'done'), {}, [])).toEqual([]);
  });

  it('follows only the edge of the branch result', () => {
    // Arrange
    const workflow = compiled(
      [node.trigger('start'), node.branch('check'), node.tag('yes'), node.tag('no')],
      [edge('start', 'check'), edge('check', 'yes', 'true'), edge('check', 'no', 'false')],
    );
    const check = nodeOf(workflow, 'check');

    // Act
    const whenTrue = planNext(workflow, check, { edge: 'true' }, ['p.0']);
    const whenFalse = planNext(workflow, check, { edge: 'false' }, []);
    const withoutResult = planNext(workflow, check, {}, []);

    // Assert
    expect(whenTrue).toEqual([{ nodeId: 'yes', arms: ['p.0'] }]);
    expect(whenFalse).toEqual([{ nodeId: 'no', arms: [] }]);
    expect(withoutResult).toEqual([]);
  });

  it('follows only the edge of the chosen split variant', () => {
    // Arrange
    const workflow = compiled(
      [
        node.trigger('start'),
        node.split('ab', { A: 1, B: 1, C: 1 }),
        node.email('a'),
        node.email('b'),
        node.email('c'),
      ],
      [edge('start', 'ab'), edge('ab', 'a', 'A'), edge('ab', 'b', 'B'), edge('ab', 'c', 'C')],
    );

    // Act
    const next = planNext(workflow, nodeOf(workflow, 'ab'), { edge: 'B' }, []);

    // Assert
    expect(next).toEqual([{ nodeId: 'b', arms: [] }]);
  });

  it('fans a parallel node out to every edge, each in its own numbered arm', () => {
    // Arrange
    const workflow = nested();

    // Act
    const next = planNext(workflow, nodeOf(workflow, 'outer'), {}, []);

    // Assert
    expect(next).toEqual([
      { nodeId: 'inner', arms: ['outer.0'] },
      { nodeId: 'z', arms: ['outer.1'] },
    ]);
  });

  it('pushes the inner arm on top of the outer one in nested parallels', () => {
    // Arrange
    const workflow = nested();

    // Act
    const next = planNext(workflow, nodeOf(workflow, 'inner'), {}, ['outer.0']);

    // Assert
    expect(next).toEqual([
      { nodeId: 'x', arms: ['outer.0', 'inner.0'] },
      { nodeId: 'y', arms: ['outer.0', 'inner.1'] },
    ]);
  });

  it('pops only its own parallel arm at a join', () => {
    // Arrange
    const workflow = nested();

    // Act
    const afterInner = planNext(workflow, nodeOf(workflow, 'innerDone'), {}, ['outer.0', 'inner.1']);
    const afterOuter = planNext(workflow, nodeOf(workflow, 'outerDone'), {}, ['outer.1']);

    // Assert
    expect(afterInner).toEqual([{ nodeId: 'outerDone', arms: ['outer.0'] }]);
    expect(afterOuter).toEqual([{ nodeId: 'end', arms: [] }]);
  });

  it('keeps the arms of enclosing parallels below the one a join pops', () => {
    // Arrange
    const workflow = nested();

    // Act
    const next = planNext(workflow, nodeOf(workflow, 'outerDone'), {}, ['top.2', 'outer.1']);

    // Assert
    expect(next).toEqual([{ nodeId: 'end', arms: ['top.2'] }]);
  });

  it('leaves the arm stack alone at a join reached outside its parallel', () => {
    // Arrange
    const workflow = nested();

    // Act
    const next = planNext(workflow, nodeOf(workflow, 'outerDone'), {}, ['other.0']);

    // Assert
    expect(next).toEqual([{ nodeId: 'end', arms: ['other.0'] }]);
  });

  it('does not modify the arm stack it was given', () => {
    // Arrange
    const workflow = nested();
    const arms = ['outer.0'];

    // Act
    planNext(workflow, nodeOf(workflow, 'inner'), {}, arms);
    planNext(workflow, nodeOf(workflow, 'innerDone'), {}, arms);

    // Assert
    expect(arms).toEqual(['outer.0']);
  });
});

describe('armOf', () => {
  it('finds the innermost arm of the given parallel', () => {
    // Act + Assert
    expect(armOf(['outer.1', 'inner.0'], 'outer')).toBe('outer.1');
    expect(armOf(['outer.1', 'inner.0'], 'inner')).toBe('inner.0');
  });

  it('is undefined outside the parallel, and does not confuse ids that share a prefix', () => {
    // Act + Assert
    expect(armOf([], 'outer')).toBeUndefined();
    expect(armOf(['inner.0'], 'outer')).toBeUndefined();
    expect(armOf(['fanout.0'], 'fan')).toBeUndefined();
    expect(armOf(['fan.0'], 'fanout')).toBeUndefined();
  });
});

describe('armCount', () => {
  it('counts the outgoing edges of the parallel node', () => {
    // Arrange
    const wide = compiled(
      [
        node.trigger('start'),
        node.parallel('fan'),
        node.tag('a'),
        node.tag('b'),
        node.tag('c'),
        node.join('done', 'fan'),
      ],
      [
        edge('start', 'fan'),
        edge('fan', 'a'),
        edge('fan', 'b'),
        edge('fan', 'c'),
        edge('a', 'done'),
        edge('b', 'done'),
        edge('c', 'done'),
      ],
    );

    // Act + Assert
    expect(armCount(wide, 'fan')).toBe(3);
    expect(armCount(nested(), 'inner')).toBe(2);
    expect(armCount(nested(), 'missing')).toBe(0);
  });
});

describe('pickVariant', () => {
  const variants = (weights: Record<string, number>) =>
    Object.entries(weights).map(([label, weight]) => ({ label, weight }));

  const shares = (weights: Record<string, number>, runs: number) => {
    const counts = new Map<string, number>();
    for (let i = 0; i < runs; i += 1) {
      const label = pickVariant(variants(weights), `exec-${i}:split`);
      counts.set(label, (counts.get(label) ?? 0) + 1);
    }
    return Object.fromEntries([...counts].map(([label, count]) => [label, count / runs]));
  };

  it('gives the same seed the same variant every time', () => {
    // Arrange
    const ab = variants({ A: 1, B: 1, C: 1 });

    // Act
    const first = Array.from({ length: 50 }, (_, i) => pickVariant(ab, `exec-${i}:ab`));
    const again = Array.from({ length: 50 }, (_, i) => pickVariant(ab, `exec-${i}:ab`));

    // Assert
    expect(again).toEqual(first);
    expect(new Set(first).size).toBeGreaterThan(1);
  });

  it('always returns one of the variant labels', () => {
    // Arrange
    const ab = variants({ A: 3, B: 7 });

    // Act
    const picked = new Set(Array.from({ length: 500 }, (_, i) => pickVariant(ab, String(i))));

    // Assert
    expect(picked).toEqual(new Set(['A', 'B']));
  });

  it.each([[{ A: 1, B: 1 }], [{ A: 1, B: 3 }], [{ control: 90, test: 10 }], [{ A: 2, B: 3, C: 5 }]])(
    'roughly respects the weights %j over many seeds',
    (weights) => {
      // Arrange
      const total = Object.values(weights).reduce((sum, w) => sum + w, 0);

      // Act
      const observed = shares(weights, 20_000);

      // Assert
      for (const [label, weight] of Object.entries(weights)) {
        expect(Math.abs((observed[label] ?? 0) - weight / total)).toBeLessThan(0.02);
      }
    },
  );
});
