export function readStackEnv(file: string): Record<string, string>;
