import type TableType from 'cli-table3';

let Table: typeof TableType | undefined;

/** cli-table3, loaded on first use: JSON output never pays for it. */
export async function newTable(options: TableType.TableConstructorOptions): Promise<TableType.Table> {
  Table ??= (await import('cli-table3')).default;
  return new Table(options);
}
