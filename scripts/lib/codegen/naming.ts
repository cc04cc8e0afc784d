// Names the bindings give to tables, columns and the value lists their CHECKs allow.

/** story_id -> storyId */
export function camelCase(snake: string): string {
  return snake.replace(/_([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
}

/** event_type -> EventType */
export function pascalCase(snake: string): string {
  const camel = camelCase(snake);
  return camel.charAt(0).toUpperCase() + camel.slice(1);
}

/** (StoryTask, status) -> StoryTaskStatus; (StoryTaskEvent, event_type) -> StoryTaskEventType */
export function valueTypeName(record: string, column: string): string {
  const columnName = pascalCase(column);
  const lastWord = /[A-Z][a-z0-9]*$/.exec(record)?.[0] ?? "";
  return columnName.startsWith(lastWord) ? record + columnName.slice(lastWord.length) : record + columnName;
}

/** StoryTaskStatus -> STORY_TASK_STATUSES */
export function valueListName(typeName: string): string {
  const snake = typeName.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();
  return snake.endsWith("S") ? `${snake}ES` : `${snake}S`;
}

/** StoryTaskStatus -> storyTaskStatusSchema */
export function schemaName(typeName: string): string {
  return `${typeName.charAt(0).toLowerCase()}${typeName.slice(1)}Schema`;
}
