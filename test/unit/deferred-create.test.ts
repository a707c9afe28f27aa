import { describe, expect, it } from 'vitest';
import { compile } from '../../src/engine/plan.js';
import { deferrableCreate } from '../../src/engine/start.js';
import { WorkflowDefinition } from '../../src/workflows/schema.js';
import { compiled, edge, node } from './builders.js';

describe('creating a new execution with the commit of its inline run', () => {
  it('is allowed when nothing can look for the execution before that commit', () => {
    const workflow = compiled(
      [node.trigger('start'), node.tag('tag'), node.wait('pause')],
      [edge('start', 'tag'), edge('tag', 'pause')],
    );
    expect(deferrableCreate(workflow)).toBe(true);
  });

  it('is refused when a goal could end the execution first', () => {
    const workflow = compile(
      WorkflowDefinition.parse({
        name: 'With a goal',
        nodes: [node.trigger('start'), node.tag('tag')],
        edges: [edge('start', 'tag')],
        settings: { goal: { event: 'form_submitted' } },
      }),
    );
    expect(deferrableCreate(workflow)).toBe(false);
  });

  it('is refused when a wait-for-event could be resumed first', () => {
    const workflow = compiled(
      [
        node.trigger('start'),
        { id: 'opened', type: 'wait', params: { event: 'email_opened', timeout: 'P1D' } },
        node.tag('yes'),
        node.tag('no'),
      ],
      [edge('start', 'opened'), edge('opened', 'yes', 'received'), edge('opened', 'no', 'timed_out')],
    );
    expect(deferrableCreate(workflow)).toBe(false);
  });
});
