/** What a CLI command needs from its surroundings; tests pass their own streams and signal. */
export interface CliContext {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  signal: AbortSignal;
  exitCode: number;
}
