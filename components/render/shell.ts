/**
 * The one quoting helper for everything rendered into shell text. POSIX
 * single quotes: inside them nothing is special, so the only character to
 * handle is the single quote itself. Newlines, `$(...)`, backticks and
 * globs stay literal.
 */
export function shQuote(value: string): string {
  if (value.includes("\0")) throw new Error("shQuote: a NUL byte cannot be passed to a shell");
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** `NAME='value'` */
export function shAssign(name: string, value: string | number): string {
  return `${name}=${shQuote(String(value))}`;
}

/** `NAME=('a' 'b')` (a bash array) */
export function shArray(name: string, values: readonly string[]): string {
  return `${name}=(${values.map(shQuote).join(" ")})`;
}

/** Words that systemd unit files and cron lines take unquoted; anything else is refused rather than mis-quoted. */
export function plainWord(word: string): string {
  if (!/^[A-Za-z0-9._/=:@+-]+$/.test(word))
    throw new Error(`not a plain word for a unit file or cron line: ${JSON.stringify(word)}`);
  return word;
}
