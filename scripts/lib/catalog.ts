// What the schema scripts read the catalog through: a `pg` client or pool, or an embedded PGlite.
export interface Queryable {
  query<Row>(sql: string, params?: unknown[]): Promise<{ rows: Row[] }>;
}
