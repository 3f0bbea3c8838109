/** Methods that change nothing (RFC 9110 §9.2.1): no CSRF check, and no log line when they succeed. */
export const isSafeMethod = (method: string | undefined) => method === 'GET' || method === 'HEAD' || method === 'OPTIONS';
