// `branch` with `aiDecision`: an OpenAI-compatible chat-completions endpoint is asked for a JSON answer naming one of
// the branch's labels. A timeout, an error, an open breaker or an answer outside the labels takes the fallback edge,
// and the step log says why. It never fails the step.
import type { Config } from '../config/config.js';
import type { SettingsStore } from '../orgs/settings.js';
import { errorMessage } from '../shared/errors.js';
import type { NodeOf } from '../workflows/schema.js';
import type { Breakers } from './breakers.js';
import { jsonBody, type HttpClient } from './http-client.js';
import { scopeOf } from './messaging.js';
import { render } from './templates.js';
import type { ActionContext, ActionResult } from './types.js';

export interface AiDeciderDeps {
  http: HttpClient;
  settings: Pick<SettingsStore, 'get'>;
  config: Pick<Config, 'AI_BASE_URL' | 'AI_API_KEY' | 'AI_MODEL'>;
  breakers?: Breakers;
}

export type AiDecider = (node: NodeOf<'branch'>, context: ActionContext) => Promise<ActionResult>;

interface ChatAnswer {
  choices?: { message?: { content?: string | null } }[];
  error?: { message?: string; code?: string | number };
}

export function systemPrompt(labels: readonly string[]): string {
  return [
    "You route a lead through a fitness club's marketing workflow.",
    `Choose exactly one label from: ${labels.map((label) => JSON.stringify(label)).join(', ')}.`,
    'Answer with a JSON object and nothing else: {"label": "<one of the labels>", "reason": "<one short sentence>"}.',
  ].join(' ');
}

export function createAiDecider({ http, settings, config, breakers }: AiDeciderDeps): AiDecider {
  return async (node, context) => {
    const ai = node.params.aiDecision;
    if (!ai) throw new Error(`${node.id} is not an AI branch`);
    const fallback = (reason: string): ActionResult => ({
      edge: ai.fallback,
      output: { label: ai.fallback, decidedBy: 'fallback', reason },
      note: `AI decision fell back to "${ai.fallback}": ${reason}`,
    });

    try {
      const org = (await settings.get(context.orgId)).ai;
      const apiKey = org?.apiKey ?? config.AI_API_KEY;
      const base = org?.baseUrl ?? config.AI_BASE_URL;
      const model = ai.model ?? org?.model ?? config.AI_MODEL;
      if (!apiKey)
        return fallback("no AI endpoint is configured (AI_API_KEY or the organization's ai settings)");
      const prompt = render(ai.prompt, scopeOf(context), `${node.id}.params.aiDecision.prompt`);
      const url = new URL('chat/completions', base.endsWith('/') ? base : `${base}/`);
      const call = () =>
        http.send({
          method: 'POST',
          url,
          provider: 'ai',
          // An organization's own endpoint is its choice, so the address policy applies; the operator's is trusted.
          guarded: org?.baseUrl !== undefined,
          timeoutMs: ai.timeoutMs,
          headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            model,
            temperature: 0,
            response_format: { type: 'json_object' },
            messages: [
              { role: 'system', content: systemPrompt(ai.labels) },
              { role: 'user', content: prompt },
            ],
          }),
        });
      const breaker = { orgId: context.orgId, endpoint: `ai:${url.origin}` };
      const response = await (breakers ? breakers.run(breaker, call) : call());
      const body = jsonBody(response) as ChatAnswer | undefined;
      if (response.status < 200 || response.status >= 300) {
        const said = body?.error?.message ? `: ${body.error.message}` : '';
        return fallback(`the AI endpoint answered ${response.status}${said}`);
      }
      const content = body?.choices?.[0]?.message?.content;
      if (typeof content !== 'string') return fallback('the AI endpoint answered without a message');
      let answer: { label?: unknown; reason?: unknown };
      try {
        answer = JSON.parse(content) as typeof answer;
      } catch {
        return fallback(`the answer is not JSON: ${content.slice(0, 200)}`);
      }
      const label = typeof answer.label === 'string' ? answer.label : undefined;
      if (!label || !ai.labels.includes(label)) {
        return fallback(
          `the answer ${JSON.stringify(answer.label ?? null)} is not one of ${ai.labels.map((l) => `"${l}"`).join(', ')}`,
        );
      }
      return {
        edge: label,
        output: {
          label,
          decidedBy: 'ai',
          model,
          ...(typeof answer.reason === 'string' ? { reason: answer.reason.slice(0, 500) } : {}),
        },
        note: `AI chose "${label}"`,
      };
    } catch (error) {
      return fallback(errorMessage(error));
    }
  };
}
