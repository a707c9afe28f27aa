// Which principal a key is: an organization answers GET /v1/org; the admin token is refused it with 403.
import { ApiError, api } from './api';
import type { Principal } from './types';

export async function identify(token: string): Promise<Principal> {
  try {
    const org = await api<{ id: string; name: string; timeZone: string }>('/v1/org', { token });
    return { kind: 'org', org };
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) return { kind: 'admin' };
    throw error;
  }
}
