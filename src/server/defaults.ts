// Where `orderly serve` listens unless told otherwise (kept apart from serve.ts so that the
// command line can show them without loading the server).

export const DEFAULT_PORT = 8080;
export const DEFAULT_HOST = '127.0.0.1';
