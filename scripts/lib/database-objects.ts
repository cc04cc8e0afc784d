// The database objects of this library that the open-source Atlas does not manage (functions,
// triggers, policies, grants, RLS flags, publication membership, comments) are compared by
// pg-delta, Supabase's schema-diff engine: it reads two live databases (the target, and schema/
// built into a scratch database) and plans the DDL between them, overloads, drops and ACLs
// included. Only this library's objects are in view: those named *story_task* and what hangs off
// them (columns, indexes, triggers, policies, grants, comments, publication membership).
import {
  type Fact,
  type FactBase,
  type Plan,
  type Policy,
  buildFactBase,
  encodeId,
  extract,
  plan as planChanges,
} from "@supabase/pg-delta";
import type pg from "pg";

/** Every object this library owns has this in its name: tables, functions, their indexes and constraints. */
const ownName = /story_task/;

/** The roles, schemas and publication of the platform (or the stand-ins) that our objects refer to. */
const platform = {
  roles: ["anon", "authenticated", "service_role"],
  schemas: ["public", "auth"],
  publications: ["supabase_realtime"],
};

/**
 * What is compared: `everything` of ours (db:drift), or `objects` only, leaving tables, columns,
 * constraints, indexes and defaults to Atlas (db:apply and db:diff run Atlas first).
 */
export type ObjectScope = "everything" | "objects";

const atlasKinds = new Set(["column", "constraint", "index", "default"]);

/** A fact is ours when it, or an object it hangs off (its parent chain), is one of our tables or functions. */
function isOurs(fact: Fact, facts: FactBase): boolean {
  for (let current: Fact | undefined = fact; current; current = current.parent ? facts.get(current.parent) : undefined) {
    const id = current.id as { kind: string; schema?: string; name?: string; table?: string };
    if (id.kind === "publicationRel") return id.schema === "public" && ownName.test(id.table ?? "");
    if ((id.kind === "table" || id.kind === "function" || id.kind === "procedure") && id.schema === "public" && ownName.test(id.name ?? "")) return true;
  }
  return false;
}

/**
 * The facts of `facts` that are ours, and the schemas they live in for reference only (never
 * compared); edges to anything else (host tables, roles) are dropped with it.
 */
function ourView(facts: FactBase): FactBase {
  const ours = facts.facts().filter((fact) => isOurs(fact, facts));
  const kept = new Map(ours.map((fact) => [encodeId(fact.id), fact]));
  const referenceOnly = new Set<string>();
  // Present on both sides whether or not ours hang off them yet, so never planned.
  const platformFacts = facts.facts().filter(({ id }) => (id.kind === "schema" && platform.schemas.includes(id.name)) || (id.kind === "publication" && platform.publications.includes(id.name)));
  for (const fact of [...ours, ...platformFacts]) {
    const platformFact = !kept.has(encodeId(fact.id));
    for (let parent: Fact | undefined = platformFact ? fact : fact.parent ? facts.get(fact.parent) : undefined; parent && !kept.has(encodeId(parent.id)); parent = parent.parent ? facts.get(parent.parent) : undefined) {
      kept.set(encodeId(parent.id), parent);
      referenceOnly.add(encodeId(parent.id));
    }
  }
  return buildFactBase([...kept.values()], [...facts.edges], facts.source, referenceOnly);
}

function policyFor(scope: ObjectScope, deployRoles: string[]): Policy {
  return {
    id: `story-task-persistence/${scope}`,
    assumedRoles: platform.roles,
    assumedSchemas: platform.schemas,
    assumedPublications: platform.publications,
    filter: [
      // The deploy role's own privileges come with ownership, which schema/ does not declare.
      { match: { all: [{ kind: "acl" }, { idField: { field: "grantee", glob: deployRoles } }] }, action: "exclude" },
      ...(scope === "objects" ? [{ match: { kind: [...atlasKinds] }, action: "exclude" as const }] : []),
    ],
  };
}

/**
 * A pg Pool-alike over one client that is inside a transaction: pg-delta's extraction runs in a
 * savepoint instead of its own transaction, so it reads what the transaction has changed so far.
 */
function inTransaction(client: pg.ClientBase): pg.Pool {
  const savepoint = "pg_delta_extract";
  const translate = (sql: string) =>
    /^\s*BEGIN\b/i.test(sql) ? `SAVEPOINT ${savepoint}` : /^\s*COMMIT\b/i.test(sql) ? `RELEASE SAVEPOINT ${savepoint}` : /^\s*ROLLBACK\b/i.test(sql) ? `ROLLBACK TO SAVEPOINT ${savepoint}` : sql;
  const session = {
    query: (config: string | pg.QueryConfig, values?: unknown[]) =>
      typeof config === "string" ? client.query(translate(config), values) : client.query({ ...config, text: translate(config.text) }),
    release: () => undefined,
  };
  return { connect: async () => session } as unknown as pg.Pool;
}

/** A database to compare: a pool, or a client inside a transaction (seen with its uncommitted changes). */
export type ObjectSource = { pool: pg.Pool } | { transaction: pg.ClientBase };

async function extractFacts(source: ObjectSource): Promise<{ facts: FactBase; role: string }> {
  const session = "pool" in source ? source.pool : source.transaction;
  const role = (await session.query<{ role: string }>("SELECT current_user AS role")).rows[0]!.role;
  const facts = await extract("pool" in source ? source.pool : inTransaction(source.transaction));
  return { facts: ourView(facts.factBase), role };
}

/** A changed attribute shows its two values, shortened; dependency edges follow their objects and are not listed. */
function describeDelta(delta: Plan["deltas"][number]): string[] {
  const shown = (value: unknown) => {
    const text = JSON.stringify(value) ?? "null";
    return text.length > 120 ? `${text.slice(0, 117)}...` : text;
  };
  if (delta.verb === "set") return [`set ${encodeId(delta.id)} ${delta.attr}: ${shown(delta.from)} -> ${shown(delta.to)}`];
  if (delta.verb === "add" || delta.verb === "remove") return [`${delta.verb} ${encodeId(delta.fact.id)}`];
  return [];
}

/** One line per difference, e.g. "remove function:public.append_story_task_event(uuid,text)". */
export interface ObjectComparison {
  plan: Plan;
  differences: string[];
}

/**
 * Compares our objects in `current` with `desired` and plans the DDL that takes `current` there.
 * The roles the two sides are read as own their objects, so their own grants are not compared.
 */
export async function compareObjects(current: ObjectSource, desired: ObjectSource, scope: ObjectScope): Promise<ObjectComparison> {
  const [source, target] = [await extractFacts(current), await extractFacts(desired)];
  const plan = planChanges(source.facts, target.facts, { policy: policyFor(scope, [...new Set([source.role, target.role])]) });
  return { plan, differences: plan.deltas.flatMap(describeDelta) };
}

/** The plan's statements, in order. Every one runs in the caller's transaction: none may need to run outside one. */
export function planStatements(plan: Plan): string[] {
  const outside = plan.actions.filter((action) => action.transactionality !== "transactional");
  if (outside.length > 0) {
    throw new Error(`pg-delta planned statements that cannot run in a transaction, which this project does not expect:\n${outside.map((action) => action.sql).join("\n")}`);
  }
  return plan.actions.map((action) => `${action.sql.trimEnd().replace(/;$/, "")};`);
}

/** What the plan locks and whether it can lose data, one line per statement that does either. */
export function planSafety(plan: Plan): string[] {
  return plan.actions
    .filter((action) => action.dataLoss === "destructive" || action.lockClass !== "none")
    .map((action) => `${action.verb} (${action.lockClass}${action.dataLoss === "destructive" ? ", loses data" : ""}): ${action.sql.split("\n")[0]}`);
}

/** Our objects as pg-delta reads them, one sorted line per fact ("id payload"): equal lines, equal objects. */
export async function describeObjects(source: ObjectSource): Promise<string[]> {
  const { facts } = await extractFacts(source);
  return facts
    .facts()
    .filter((fact) => !facts.referenceOnly.has(encodeId(fact.id)))
    .map((fact) => `${encodeId(fact.id)} ${JSON.stringify(fact.payload)}`)
    .sort();
}
