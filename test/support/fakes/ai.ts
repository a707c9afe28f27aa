// A fake OpenAI-compatible chat-completions endpoint: checks the bearer key and the request shape (model, messages,
// JSON response format), answers what the test's `answer` function says in the real response shape.
import { bearerOf, startFakeApi, type FakeApi } from './fake-api.js';

export const AI_KEY = 'sk-ai-fake-key';

export interface ChatRequest {
  model: string;
  messages: { role: string; content: string }[];
  response_format?: { type: string };
  temperature?: number;
}

export interface FakeAi extends FakeApi {
  /** The assistant's message content for a request (a JSON string, or anything else to test bad answers). */
  answer: (request: ChatRequest) => string;
}

export async function startFakeAi(): Promise<FakeAi> {
  const fake = {} as FakeAi;
  const api = await startFakeApi((request) => {
    if (request.method !== 'POST' || request.path !== '/chat/completions')
      return { status: 404, body: { error: { message: 'not found', code: 'not_found' } } };
    if (bearerOf(request.headers) !== AI_KEY)
      return {
        status: 401,
        body: { error: { message: 'Incorrect API key provided', code: 'invalid_api_key' } },
      };
    const chat = JSON.parse(request.body) as ChatRequest;
    if (!chat.model || !Array.isArray(chat.messages) || chat.messages.length === 0)
      return {
        status: 400,
        body: { error: { message: 'model and messages are required', code: 'invalid_request' } },
      };
    return {
      status: 200,
      body: {
        id: 'chatcmpl-fake',
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: chat.model,
        choices: [
          { index: 0, message: { role: 'assistant', content: fake.answer(chat) }, finish_reason: 'stop' },
        ],
        usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
      },
    };
  });
  return Object.assign(fake, api, { answer: () => '{"label":"unknown"}' });
}
