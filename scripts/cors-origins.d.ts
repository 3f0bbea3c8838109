export function parseCorsOrigins(value: string): string[];
