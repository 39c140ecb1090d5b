/** Lines on stdout for command results; progress and diagnostics go to stderr. */
export function say(line = ''): void {
  process.stdout.write(`${line}\n`);
}
