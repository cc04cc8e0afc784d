// Reads the Row and Insert shapes of a table out of generated/database.types.ts with ts-morph,
// so the bindings take their TypeScript types from Supabase's generator, not from a guess.
import { Project, SyntaxKind, type TypeLiteralNode } from "ts-morph";

export interface PropertyShape {
  name: string;
  type: string;
  optional: boolean;
}

export interface TableShape {
  row: PropertyShape[];
  insert: PropertyShape[];
}

function member(literal: TypeLiteralNode, name: string): TypeLiteralNode {
  return literal.getPropertyOrThrow(name).getTypeNodeOrThrow().asKindOrThrow(SyntaxKind.TypeLiteral);
}

function properties(literal: TypeLiteralNode): PropertyShape[] {
  return literal.getProperties().map((property) => ({
    name: property.getName(),
    type: property.getTypeNodeOrThrow().getText(),
    optional: property.hasQuestionToken(),
  }));
}

/** The Row and Insert properties of `Database["public"]["Tables"][table]`. */
export function readTableShapes(databaseTypes: string, tables: string[]): Map<string, TableShape> {
  const file = new Project({ useInMemoryFileSystem: true }).createSourceFile("database.types.ts", databaseTypes);
  const database = file.getTypeAliasOrThrow("Database").getTypeNodeOrThrow().asKindOrThrow(SyntaxKind.TypeLiteral);
  const publicTables = member(member(database, "public"), "Tables");
  return new Map(
    tables.map((table) => {
      const shapes = member(publicTables, table);
      return [table, { row: properties(member(shapes, "Row")), insert: properties(member(shapes, "Insert")) }];
    }),
  );
}
