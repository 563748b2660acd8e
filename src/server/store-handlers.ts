/** Store collection and store object: list, get-or-create, get, update, delete. */
import { FEATURE_PAIRS } from './conditions.js';
import { GENERAL_ACCESS_VALUES, type GeneralAccess } from '../storage/types.js';
import { canWrite, requireUser } from './auth.js';
import { corruptBody, readSmallBody, bodyEncoding } from './body.js';
import { allowBody, baseUrl, resolveStore, viewContext, type AppContext, type RequestState } from './context.js';
import { ApiError, invalidInput, payloadTooLarge, storeNotFound } from './errors.js';
import { sendData, sendJsonText, sendNoContent } from './responses.js';
import { queryValue } from './routes.js';
import { assertValidStoreName, parseBoolean, parseLimit, parseNonNegativeInt } from './validation.js';
import { storeUrl, storeView } from './views.js';

/** Store updates are tiny JSON objects; anything bigger is a mistake. */
const MAX_UPDATE_BODY_BYTES = 64 * 1024;

export async function listStores(ctx: AppContext, state: RequestState): Promise<void> {
  const user = requireUser(state.principal);
  const { query } = state;
  const offset = parseNonNegativeInt(queryValue(query, 'offset'), 'offset') ?? 0;
  const limit = parseLimit(queryValue(query, 'limit')) ?? 1000;
  const desc = parseBoolean(queryValue(query, 'desc'), 'desc');
  const unnamed = parseBoolean(queryValue(query, 'unnamed'), 'unnamed');
  const ownership = queryValue(query, 'ownership');
  if (ownership !== undefined && ownership !== 'ownedByMe' && ownership !== 'sharedWithMe') {
    throw invalidInput('Parameter "ownership" must be "ownedByMe" or "sharedWithMe".');
  }
  const view = viewContext(ctx, state, true);
  if (ownership === 'sharedWithMe') {
    // Nothing is ever shared with a specific user here (only general access exists).
    sendData(state.res, 200, { total: 0, offset, limit, desc, count: 0, unnamed, items: [] });
    return;
  }
  // Single-user mode lists every store, including folders written by other tools.
  const result = await ctx.storage.listStores({
    userId: state.principal.local ? undefined : user.id,
    offset,
    limit,
    desc,
    unnamed,
  });
  sendData(state.res, 200, {
    total: result.total,
    offset: result.offset,
    limit: result.limit,
    desc: result.desc,
    count: result.count,
    unnamed,
    items: result.items.map((s) => storeView(s, view)),
  });
}

export async function getOrCreateStore(ctx: AppContext, state: RequestState): Promise<void> {
  const user = requireUser(state.principal);
  const name = queryValue(state.query, 'name');
  if (name !== undefined) assertValidStoreName(name);
  const { store, created } = await ctx.storage.getOrCreateStore({ name, user });
  const data = storeView(store, viewContext(ctx, state, true));
  if (created) sendData(state.res, 201, data, { Location: storeUrl(baseUrl(ctx, state.req), store.id) });
  else sendData(state.res, 200, data);
}

export async function getStore(ctx: AppContext, state: RequestState, ref: string | undefined): Promise<void> {
  const store = await resolveStore(ctx, state, ref, 'read');
  const data = storeView(store, viewContext(ctx, state, canWrite(state.principal, store)));
  sendJsonText(state.res, 200, JSON.stringify({ data }), [...ctx.origins.headerPairs(state.req), ...FEATURE_PAIRS]);
}

export async function updateStore(ctx: AppContext, state: RequestState, ref: string | undefined): Promise<void> {
  requireUser(state.principal);
  // Validate the body before touching the store, so bad input changes nothing.
  const changes = await readStoreChanges(ctx, state);
  const store = await resolveStore(ctx, state, ref, 'write');
  const updated = await ctx.storage.updateStore(store.id, changes);
  sendData(state.res, 200, storeView(updated, viewContext(ctx, state, true)));
}

export async function deleteStore(ctx: AppContext, state: RequestState, ref: string | undefined): Promise<void> {
  const store = await resolveStore(ctx, state, ref, 'write');
  if (!(await ctx.storage.deleteStore(store.id))) throw storeNotFound();
  sendNoContent(state.res);
}

async function readStoreChanges(
  ctx: AppContext,
  state: RequestState,
): Promise<{ name?: string | null; generalAccess?: GeneralAccess }> {
  const encoding = bodyEncoding(state.req);
  allowBody(ctx, state);
  const body = await readSmallBody(state.req, MAX_UPDATE_BODY_BYTES);
  if (!body.ok) {
    body.body.dispose();
    if (body.failure === 'too-large') throw payloadTooLarge(state.req.method ?? 'PUT', MAX_UPDATE_BODY_BYTES);
    if (body.failure === 'corrupt') throw corruptBody(encoding);
    throw new ApiError(400, 'invalid-input', 'The request body was not received completely.');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.bytes.toString('utf8'));
  } catch {
    throw invalidInput('The request body must be a JSON object, e.g. {"name": "my-store", "generalAccess": "RESTRICTED"}.');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw invalidInput('The request body must be a JSON object.');
  }
  const { name, generalAccess } = parsed as { name?: unknown; generalAccess?: unknown };
  const changes: { name?: string | null; generalAccess?: GeneralAccess } = {};
  if (name !== undefined) {
    if (name !== null) assertValidStoreName(name);
    changes.name = name;
  }
  if (generalAccess === null) {
    // As the platform does: null puts the store back on the account's setting.
    changes.generalAccess = 'FOLLOW_USER_SETTING';
  } else if (generalAccess !== undefined) {
    if (!GENERAL_ACCESS_VALUES.includes(generalAccess as GeneralAccess)) {
      throw invalidInput(`Field "generalAccess" must be one of ${GENERAL_ACCESS_VALUES.join(', ')}.`);
    }
    changes.generalAccess = generalAccess as GeneralAccess;
  }
  return changes;
}
